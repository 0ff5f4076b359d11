using ChatPlatform.Inference.Models;
using ChatPlatform.Testing;
using ChatPlatform.Testing.Http;
using Xunit;

namespace ChatPlatform.Inference.Tests.Models;

public sealed class ModelDownloaderTests
{
    private const string Repo = "test-org/Tiny-GGUF";
    private const string FileName = "tiny-q8_0.gguf";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static readonly Lazy<byte[]> TinyBytes = new(() => File.ReadAllBytes(TestModels.TinyPath));

    private static async Task<(TestHttpServer Server, ModelHub Hub)> StartHubAsync()
    {
        var hub = new ModelHub();
        hub.Add(Repo, FileName, TinyBytes.Value);
        var server = await TestHttpServer.StartAsync(hub.HandleAsync, Token);
        return (server, hub);
    }

    private static ModelDownloader Downloader(TestHttpServer server, string? token = null) =>
        new(ModelDownloader.CreateHttpClient(), server.BaseUri, token, TimeSpan.FromSeconds(10));

    [Fact]
    public async Task PullAsync_FullDownload_InstallsIdenticalBytesVerifiedAgainstLinkedEtag()
    {
        var (server, _) = await StartHubAsync();
        await using var _s = server;
        var folder = TestModels.CreateScratchFolder();
        var reports = new List<DownloadProgress>();

        var result = await Downloader(server).PullAsync(new ModelPullRequest(Repo, FileName, folder), new SyncProgress<DownloadProgress>(reports.Add), Token);

        Assert.Equal(Path.Combine(folder, FileName), result.Path);
        Assert.Equal(TinyBytes.Value, await File.ReadAllBytesAsync(result.Path, Token));
        Assert.True(result.Verified);
        Assert.Equal(ModelHub.Sha256Hex(TinyBytes.Value), result.Sha256);
        Assert.Equal("llama", result.Info.Architecture);
        Assert.False(File.Exists(result.Path + ".partial"));
        Assert.Equal(TinyBytes.Value.Length, reports[^1].Received);
        Assert.Equal(TinyBytes.Value.Length, reports[^1].Total);
        Assert.Equal($"/{Repo}/resolve/main/{FileName}", Assert.Single(server.Requests).PathAndQuery);
    }

    [Fact]
    public async Task PullAsync_InterruptedThenRunAgain_ResumesWithRangeAndResultIsByteIdentical()
    {
        var (server, hub) = await StartHubAsync();
        await using var _s = server;
        hub.Interruptions = 1;
        hub.InterruptAfterBytes = 64 * 1024;
        var folder = TestModels.CreateScratchFolder();
        var request = new ModelPullRequest(Repo, FileName, folder);

        var error = await Assert.ThrowsAsync<ModelPullException>(() => Downloader(server).PullAsync(request, null, Token));
        var partial = Path.Combine(folder, FileName + ".partial");
        Assert.Contains("resume", error.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(partial));
        Assert.False(File.Exists(Path.Combine(folder, FileName)));
        var kept = new FileInfo(partial).Length;
        Assert.InRange(kept, 1, TinyBytes.Value.Length - 1);

        var result = await Downloader(server).PullAsync(request, null, Token);

        Assert.Equal(kept, result.ResumedFrom);
        Assert.Equal($"bytes={kept}-", server.Requests.Last().Header("Range"));
        Assert.Equal(TinyBytes.Value, await File.ReadAllBytesAsync(result.Path, Token));
        Assert.True(result.Verified);
        Assert.False(File.Exists(partial));
    }

    [Fact]
    public async Task PullAsync_ServerIgnoresRangeOnResume_StartsOverAndStillIdentical()
    {
        var (server, hub) = await StartHubAsync();
        await using var _s = server;
        hub.Interruptions = 1;
        var folder = TestModels.CreateScratchFolder();
        var request = new ModelPullRequest(Repo, FileName, folder);
        await Assert.ThrowsAsync<ModelPullException>(() => Downloader(server).PullAsync(request, null, Token));
        hub.IgnoreRanges = true;

        var result = await Downloader(server).PullAsync(request, null, Token);

        Assert.Equal(0, result.ResumedFrom);
        Assert.Equal(TinyBytes.Value, await File.ReadAllBytesAsync(result.Path, Token));
    }

    [Fact]
    public async Task PullAsync_CorruptTransfer_ShaMismatchErrorAndNothingInstalledOrKept()
    {
        var (server, hub) = await StartHubAsync();
        await using var _s = server;
        hub.Corrupt = true;
        var folder = TestModels.CreateScratchFolder();

        var error = await Assert.ThrowsAsync<ModelPullException>(() => Downloader(server).PullAsync(new ModelPullRequest(Repo, FileName, folder), null, Token));

        Assert.Contains("SHA-256 mismatch", error.Message, StringComparison.Ordinal);
        Assert.Contains(ModelHub.Sha256Hex(TinyBytes.Value), error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(folder));
    }

    [Fact]
    public async Task PullAsync_GivenShaDiffers_MismatchErrorNamingBoth()
    {
        var (server, _) = await StartHubAsync();
        await using var _s = server;
        var folder = TestModels.CreateScratchFolder();
        var wrong = new string('a', 64);

        var error = await Assert.ThrowsAsync<ModelPullException>(() => Downloader(server).PullAsync(new ModelPullRequest(Repo, FileName, folder, Sha256: wrong), null, Token));

        Assert.Contains($"expected {wrong}", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(folder));
    }

    [Fact]
    public async Task PullAsync_NotAGgufFile_RemovedWithClearError()
    {
        var (server, hub) = await StartHubAsync();
        await using var _s = server;
        hub.Add(Repo, "README.gguf", "# not a model"u8.ToArray());
        var folder = TestModels.CreateScratchFolder();

        var error = await Assert.ThrowsAsync<ModelPullException>(() => Downloader(server).PullAsync(new ModelPullRequest(Repo, "README.gguf", folder), null, Token));

        Assert.Contains("not a valid GGUF file", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(folder));
    }

    [Fact]
    public async Task PullAsync_MissingFile_NotFoundNamingRepoFileAndRevision()
    {
        var (server, _) = await StartHubAsync();
        await using var _s = server;

        var error = await Assert.ThrowsAsync<ModelPullException>(() =>
            Downloader(server).PullAsync(new ModelPullRequest(Repo, "nope.gguf", TestModels.CreateScratchFolder(), "v2"), null, Token));

        Assert.Contains("nope.gguf was not found in test-org/Tiny-GGUF at revision v2", error.Message, StringComparison.Ordinal);
        Assert.Contains("HTTP 404", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PullAsync_GatedRepo_NeedsTheToken()
    {
        var (server, hub) = await StartHubAsync();
        await using var _s = server;
        hub.RequiredToken = "hf_secret";
        var folder = TestModels.CreateScratchFolder();

        var error = await Assert.ThrowsAsync<ModelPullException>(() => Downloader(server).PullAsync(new ModelPullRequest(Repo, FileName, folder), null, Token));
        var result = await Downloader(server, "hf_secret").PullAsync(new ModelPullRequest(Repo, FileName, folder), null, Token);

        Assert.Contains("HTTP 401", error.Message, StringComparison.Ordinal);
        Assert.Contains("HF_TOKEN", error.Message, StringComparison.Ordinal);
        Assert.True(result.Verified);
    }

    [Fact]
    public async Task PullAsync_AlreadyInstalled_DownloadsNothing()
    {
        var (server, _) = await StartHubAsync();
        await using var _s = server;
        var folder = TestModels.CreateScratchFolder();
        var request = new ModelPullRequest(Repo, FileName, folder);
        await Downloader(server).PullAsync(request, null, Token);

        var again = await Downloader(server).PullAsync(request with { Sha256 = ModelHub.Sha256Hex(TinyBytes.Value) }, null, Token);

        Assert.True(again.AlreadyPresent);
        Assert.Single(server.Requests);
    }

    [Theory]
    [InlineData("no-slash", FileName)]
    [InlineData("a/b/c", FileName)]
    [InlineData(Repo, "../escape.gguf")]
    public async Task PullAsync_BadNames_RefusedBeforeAnyRequest(string repo, string file)
    {
        var (server, _) = await StartHubAsync();
        await using var _s = server;

        await Assert.ThrowsAsync<ModelPullException>(() => Downloader(server).PullAsync(new ModelPullRequest(repo, file, TestModels.CreateScratchFolder()), null, Token));

        Assert.Empty(server.Requests);
    }

    [Fact]
    public void FileUri_NestedFileAndRevision_EscapesSegments() =>
        Assert.Equal(
            "https://hub.example/mirror/Qwen/Qwen2.5-GGUF/resolve/refs%2Fpr%2F1/q4/model%20a.gguf",
            ModelDownloader.FileUri(new Uri("https://hub.example/mirror/"), "Qwen/Qwen2.5-GGUF", "refs/pr/1", "q4/model a.gguf").AbsoluteUri);

    /// <summary>Reports on the calling thread, so the list is complete when the call returns.</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
