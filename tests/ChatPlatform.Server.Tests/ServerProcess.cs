using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Server.Tests;

/// <summary>The real server as a child process on a loopback port, with the reference packs and the generated model.</summary>
public sealed class ServerProcess : IDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, ConcurrentQueue<string> output)
    {
        _process = process;
        Output = output;
    }

    /// <summary>Everything the server wrote to stdout and stderr so far.</summary>
    public ConcurrentQueue<string> Output { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string OutputText => string.Join('\n', Output);

    /// <summary>Starts the server and waits until <c>/healthz</c> answers 200.</summary>
    public static async Task<ServerProcess> StartAsync(int port, string dataDirectory, HttpClient http, IReadOnlyDictionary<string, string>? settings, CancellationToken cancellationToken, ConcurrentQueue<string>? output = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dataDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ChatPlatform.Server.dll"));
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["ChatPlatform__DataDirectory"] = dataDirectory;
        start.Environment["ChatPlatform__PersonasDirectory"] = RepoPaths.Personas;
        start.Environment["ChatPlatform__SafetyDirectory"] = RepoPaths.Safety;
        start.Environment["ChatPlatform__RateLimit__PermitsPerWindow"] = "0";
        start.Environment["ChatPlatform__Model__Path"] = TestModels.TinyPath;
        start.Environment["ChatPlatform__Model__ContextSize"] = "2048";
        start.Environment["ChatPlatform__Model__Threads"] = "2";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        output ??= new ConcurrentQueue<string>();
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, output);

        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(90))
        {
            if (process.HasExited)
                Assert.Fail($"The server exited with {process.ExitCode} during start-up:\n{server.OutputText}");
            try
            {
                using var health = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"), cancellationToken);
                if (health.IsSuccessStatusCode) return server;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100, cancellationToken);
        }
        process.Kill(entireProcessTree: true);
        Assert.Fail($"The server did not answer /healthz within 90 s:\n{server.OutputText}");
        return server;
    }

    /// <summary>Waits until the server has written a line containing <paramref name="text"/>.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan limit, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        while (!Output.Any(line => line.Contains(text, StringComparison.Ordinal)))
        {
            if (waited.Elapsed > limit)
                Assert.Fail($"The server did not write \"{text}\" within {limit.TotalSeconds} s:\n{OutputText}");
            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>Sends SIGTERM, as a service manager or a container runtime does to stop the server.</summary>
    public void Terminate()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        kill.WaitForExit();
    }

    public void Kill() => _process.Kill(entireProcessTree: true);

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
