using System.CommandLine;
using ChatPlatform.Cli.Commands;

namespace ChatPlatform.Cli;

/// <summary>The <c>chatplatform</c> command: packs, models and chat in the terminal.</summary>
public static class CliApp
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, TextReader input, CancellationToken cancellationToken = default)
    {
        var console = new CliConsole(output, error, input);
        var root = new RootCommand("ChatPlatform: domain chatbots on a shared local model.")
        {
            ModelCommands.Create(console),
            AdapterCommands.Create(console),
            PackCommands.Create(console),
            ChatCommand.Create(console),
            BenchCommand.Create(console),
            DataCommands.Create(console),
            SafetyCommands.Create(console),
            ApiKeyCommands.Create(console),
            AdminCommands.Create(console),
            LoadTestCommand.Create(console),
            KnowledgeCommands.Create(console),
        };
        var parse = root.Parse(args);
        var configuration = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        try
        {
            return await parse.InvokeAsync(configuration, cancellationToken);
        }
        catch (CliException e)
        {
            await error.WriteLineAsync(e.Message);
            return e.ExitCode;
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("Cancelled.");
            return 130;
        }
    }
}

/// <summary>The streams a command talks to, so tests can run commands in-process.</summary>
public sealed record CliConsole(TextWriter Out, TextWriter Error, TextReader In);

/// <summary>A failure the user can act on: printed as one line, no stack trace.</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>
    /// <paramref name="path"/>, the file an <paramref name="option"/> writes, refused in one line when its folder does not
    /// exist: checked before the work, so a long run is not lost to a typo in where its result goes.
    /// </summary>
    public static string OutputFile(string path, string option)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return Directory.Exists(directory) ? path : throw new CliException($"{option}: folder '{directory}' does not exist.");
    }
}
