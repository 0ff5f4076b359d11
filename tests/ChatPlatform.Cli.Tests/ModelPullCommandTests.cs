using ChatPlatform.Testing;
using ChatPlatform.Testing.Http;
using Xunit;

namespace ChatPlatform.Cli.Tests;

/// <summary><c>chatplatform model pull</c> against a Hugging Face-style server on 127.0.0.1 serving the generated tiny model.</summary>
public sealed class ModelPullCommandTests
{
    internal const string Repo = "test-org/Tiny-GGUF";
    internal const string FileName = "tiny.gguf";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    internal static async Task<(TestHttpServer Server, ModelHub Hub, byte[] Bytes)> StartHubAsync()
    {
        var bytes = await File.ReadAllBytesAsync(TestModels.TinyPath, Token);
        var hub = new ModelHub();
        hub.Add(Repo, FileName, bytes);
        return (await TestHttpServer.StartAsync(hub.HandleAsync, Token), hub, bytes);
    }

    [Fact]
    public async Task Pull_FullDownload_InstallsTheFileAndShowsProgressAndVerification()
    {
        var (server, _, bytes) = await StartHubAsync();
        await using var _s = server;
        var folder = TestModels.CreateScratchFolder();

        var result = await CliRunner.RunAsync("model", "pull", Repo, FileName, "--out", folder, "--hub-url", server.BaseUri.ToString());

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(folder, FileName), Token));
        Assert.Matches(@"\] 100%  ([\d.]+ [KMG]?i?B) / \1  [\d.]+ [KMG]?i?B/s", result.Error);
        Assert.Contains($"sha256 {ModelHub.Sha256Hex(bytes)} (verified)", result.Out, StringComparison.Ordinal);
        Assert.Contains("model, llama", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_InterruptedThenRunAgain_ResumesWithRangeAndIsByteIdentical()
    {
        var (server, hub, bytes) = await StartHubAsync();
        await using var _s = server;
        hub.Interruptions = 1;
        hub.InterruptAfterBytes = 100_000;
        var folder = TestModels.CreateScratchFolder();
        string[] args = ["model", "pull", Repo, FileName, "--out", folder, "--hub-url", server.BaseUri.ToString()];

        var first = await CliRunner.RunAsync(args);
        var kept = new FileInfo(Path.Combine(folder, FileName + ".partial")).Length;
        var second = await CliRunner.RunAsync(args);

        Assert.Equal(1, first.ExitCode);
        Assert.Contains("run the same command again to resume", first.Error.Trim().Split('\n')[^1], StringComparison.Ordinal);
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("resumed at", second.Out, StringComparison.Ordinal);
        Assert.Equal($"bytes={kept}-", server.Requests.Last().Header("Range"));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(folder, FileName), Token));
    }

    [Fact]
    public async Task Pull_CorruptDownload_OneLineShaMismatchAndNothingInstalled()
    {
        var (server, hub, _) = await StartHubAsync();
        await using var _s = server;
        hub.Corrupt = true;
        var folder = TestModels.CreateScratchFolder();

        var result = await CliRunner.RunAsync("model", "pull", Repo, FileName, "--out", folder, "--hub-url", server.BaseUri.ToString());

        Assert.Equal(1, result.ExitCode);
        var line = result.Error.Trim().Split('\n')[^1];
        Assert.Contains("SHA-256 mismatch", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(folder));
    }

    [Fact]
    public async Task Pull_UnknownFile_OneLineNotFound()
    {
        var (server, _, _) = await StartHubAsync();
        await using var _s = server;
        var folder = TestModels.CreateScratchFolder();

        var result = await CliRunner.RunAsync("model", "pull", Repo, "missing.gguf", "--out", folder, "--hub-url", server.BaseUri.ToString());

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Error.Trim().Split('\n'));
        Assert.Contains("missing.gguf was not found in test-org/Tiny-GGUF at revision main (HTTP 404", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_BadSha256Option_OneLineErrorBeforeDownloading()
    {
        var (server, _, _) = await StartHubAsync();
        await using var _s = server;

        var result = await CliRunner.RunAsync("model", "pull", Repo, FileName, "--out", TestModels.CreateScratchFolder(), "--hub-url", server.BaseUri.ToString(), "--sha256", "xyz");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("--sha256 must be 64 hexadecimal characters (got 'xyz').", result.Error.Trim());
        Assert.Empty(server.Requests);
    }
}

/// <summary><c>chatplatform model pull</c> with the hub from <c>ChatPlatform__Models__HubUrl</c>.</summary>
[Collection(nameof(ProcessEnvironment))]
public sealed class ModelPullEnvironmentTests
{
    [Fact]
    public async Task Pull_HubUrlFromEnvironment_UsedWithoutTheOption()
    {
        var (server, _, bytes) = await ModelPullCommandTests.StartHubAsync();
        await using var _s = server;
        var folder = TestModels.CreateScratchFolder();
        Environment.SetEnvironmentVariable("ChatPlatform__Models__HubUrl", server.BaseUri.ToString());
        try
        {
            var result = await CliRunner.RunAsync("model", "pull", ModelPullCommandTests.Repo, ModelPullCommandTests.FileName, "--out", folder, "--sha256", ModelHub.Sha256Hex(bytes).ToUpperInvariant());

            Assert.Equal(0, result.ExitCode);
            Assert.Single(server.Requests);
        }
        finally
        {
            Environment.SetEnvironmentVariable("ChatPlatform__Models__HubUrl", null);
        }
    }
}
