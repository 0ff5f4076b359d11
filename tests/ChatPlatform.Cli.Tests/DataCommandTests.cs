using System.Text.Json;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Data;
using ChatPlatform.Data.Conversations;
using Microsoft.Data.Sqlite;
using Xunit;

namespace ChatPlatform.Cli.Tests;

public sealed class DataCommandTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("chatplatform-cli-data-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task DataExportThenErase_OneUser_ExportsTheirMessagesThenRemovesThem()
    {
        await SeedAsync();
        var exportFile = Path.Combine(_dataDir, "carol.json");

        var export = await CliRunner.RunAsync("data", "export", "--user", "carol-42", "--out", exportFile, "--data-dir", _dataDir);
        var erase = await CliRunner.RunAsync("data", "erase", "--user", "carol-42", "--data-dir", _dataDir);
        var after = await CliRunner.RunAsync("data", "export", "--user", "carol-42", "--data-dir", _dataDir);

        Assert.Equal(0, export.ExitCode);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(exportFile, TestContext.Current.CancellationToken));
        var messages = json.RootElement.GetProperty("conversations")[0].GetProperty("messages");
        Assert.Equal("carol's private words", messages[0].GetProperty("text").GetString());
        Assert.Equal(2, messages.GetArrayLength());
        Assert.Equal(0, erase.ExitCode);
        Assert.Contains("Erased 1 conversation(s), 2 message(s)", erase.Out, StringComparison.Ordinal);
        Assert.Equal(0, after.ExitCode);
        Assert.Empty(JsonDocument.Parse(after.Out).RootElement.GetProperty("conversations").EnumerateArray());
    }

    [Fact]
    public async Task DataErase_ByConversationNumber_RemovesOnlyThatConversation()
    {
        await SeedAsync();
        var ct = TestContext.Current.CancellationToken;
        var factory = new ChatDbContextFactory(_dataDir);
        var store = new EfConversationStore(factory);
        await store.OpenAsync("web", "anonymous-chat", "mindchat", "en", null, ct);
        await store.AppendAsync("web", "anonymous-chat", new StoredMessage("user", "no user id here", DateTimeOffset.UtcNow), null, ct);
        long number;
        await using (var db = await factory.CreateDbContextAsync(ct))
            number = db.Conversations.Single(c => c.ExternalId == "anonymous-chat").Id;

        var neither = await CliRunner.RunAsync("data", "erase", "--data-dir", _dataDir);
        var both = await CliRunner.RunAsync("data", "erase", "--user", "carol-42", "--conversation", $"{number}", "--data-dir", _dataDir);
        var missing = await CliRunner.RunAsync("data", "erase", "--conversation", "987654", "--data-dir", _dataDir);
        var erase = await CliRunner.RunAsync("data", "erase", "--conversation", $"{number}", "--data-dir", _dataDir);

        Assert.Equal((1, 1, 1), (neither.ExitCode, both.ExitCode, missing.ExitCode));
        Assert.Contains("--user ID or --conversation NUMBER", neither.Error, StringComparison.Ordinal);
        Assert.Contains("There is no conversation 987654", missing.Error, StringComparison.Ordinal);
        Assert.Equal(0, erase.ExitCode);
        Assert.Contains("Erased 1 conversation(s), 1 message(s)", erase.Out, StringComparison.Ordinal);
        await using var check = await factory.CreateDbContextAsync(ct);
        Assert.Equal(["carol-chat"], check.Conversations.Select(c => c.ExternalId).ToArray());
    }

    [Fact]
    public async Task DataBackup_ExistingDatabase_WritesCopyHoldingTheMessages()
    {
        await SeedAsync();
        var file = Path.Combine(_dataDir, "backups", "nightly.db");

        var result = await CliRunner.RunAsync("data", "backup", "--out", file, "--data-dir", _dataDir);
        var again = await CliRunner.RunAsync("data", "backup", "--out", file, "--data-dir", _dataDir);

        Assert.Equal(0, result.ExitCode);
        await using var copy = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
        await copy.OpenAsync(TestContext.Current.CancellationToken);
        await using var count = copy.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM messages";
        Assert.Equal(2L, await count.ExecuteScalarAsync(TestContext.Current.CancellationToken));
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("already exists", again.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DataExport_NoDatabase_FailsWithOneLineNamingThePath()
    {
        var empty = Path.Combine(_dataDir, "nothing-here");
        var result = await CliRunner.RunAsync("data", "export", "--user", "x", "--data-dir", empty);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("No database at", result.Error, StringComparison.Ordinal);
        Assert.Single(result.Error.Trim().Split('\n'));
    }

    private async Task SeedAsync()
    {
        var factory = new ChatDbContextFactory(_dataDir);
        await ChatDatabase.MigrateAsync(factory, TestContext.Current.CancellationToken);
        var store = new EfConversationStore(factory);
        var ct = TestContext.Current.CancellationToken;
        await store.OpenAsync("web", "carol-chat", "mindchat", "en", "carol-42", ct);
        await store.AppendAsync("web", "carol-chat", new StoredMessage("user", "carol's private words", DateTimeOffset.UtcNow), null, ct);
        await store.AppendAsync("web", "carol-chat", new StoredMessage("assistant", "a reply", DateTimeOffset.UtcNow), null, ct);
    }
}
