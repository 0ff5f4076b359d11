using Xunit;
using ChatPlatform.Core.ApiKeys;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Data;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Cli.Tests;

/// <summary><c>chatplatform apikey</c> against a data folder from <c>ChatPlatform__DataDirectory</c>.</summary>
[Collection(nameof(ProcessEnvironment))]
public sealed class ApiKeyCommandTests
{
    [Fact]
    public async Task CreateListRevoke_OneKey_PrintedOnceStoredAsHashThenGone()
    {
        var data = Directory.CreateTempSubdirectory("chatplatform-apikey-").FullName;
        Environment.SetEnvironmentVariable("ChatPlatform__DataDirectory", data);
        try
        {
            var created = await CliRunner.RunAsync("apikey", "create", "--name", "lms");
            var duplicate = await CliRunner.RunAsync("apikey", "create", "--name", "lms");
            var listed = await CliRunner.RunAsync("apikey", "list");
            var stored = await StoredAsync(data);
            var revoked = await CliRunner.RunAsync("apikey", "revoke", "lms");
            var again = await CliRunner.RunAsync("apikey", "revoke", "lms");

            Assert.Equal(0, created.ExitCode);
            var key = created.Out.Trim();
            Assert.StartsWith(ApiKeys.Prefix, key, StringComparison.Ordinal);
            var row = Assert.Single(stored);
            Assert.Equal(ApiKeys.Hash(key), row.KeyHash);
            Assert.Equal(key[..ApiKeys.ShownLength], row.KeyPrefix);
            Assert.Equal(1, duplicate.ExitCode);
            Assert.Contains("exists already", duplicate.Error, StringComparison.Ordinal);
            Assert.StartsWith("lms\t", listed.Out, StringComparison.Ordinal);
            Assert.DoesNotContain(key, listed.Out, StringComparison.Ordinal);
            Assert.Equal(0, revoked.ExitCode);
            Assert.Equal(1, again.ExitCode);
            Assert.Equal("No active API key named 'lms'.", again.Error.Trim());
            Assert.NotNull(Assert.Single(await StoredAsync(data)).RevokedAt);
            Assert.Contains("revoked", (await CliRunner.RunAsync("apikey", "list")).Out, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("ChatPlatform__DataDirectory", null);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task Create_BadName_OneLineError()
    {
        var result = await CliRunner.RunAsync("apikey", "create", "--name", "has space");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("'has space'", result.Error, StringComparison.Ordinal);
    }

    private static async Task<List<ChatPlatform.Data.Admin.ApiClientRecord>> StoredAsync(string data)
    {
        await using var db = new ChatDbContextFactory(data).CreateDbContext();
        return await db.ApiClients.AsNoTracking().ToListAsync(TestContext.Current.CancellationToken);
    }
}
