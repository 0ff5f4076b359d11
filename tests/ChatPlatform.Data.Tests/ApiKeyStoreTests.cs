using ChatPlatform.Core.ApiKeys;
using ChatPlatform.Data.Admin;
using Microsoft.EntityFrameworkCore;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Data.Tests;

public sealed class ApiKeyStoreTests
{
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task FindAsync_AfterRevoke_ReturnsNullAndKeepsTheRow(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var keys = new ApiKeys(new EfApiKeyStore(database.Factory), TimeProvider.System);
        var ct = TestContext.Current.CancellationToken;
        var key = await keys.CreateAsync("client-a", "tester", ct);
        Assert.Equal("client-a", (await keys.FindAsync(key, ct))?.Name);

        Assert.True(await keys.RevokeAsync("client-a", "tester", ct));

        Assert.Null(await keys.FindAsync(key, ct));
        Assert.False(await keys.AnyActiveAsync(ct));
        Assert.False(await keys.RevokeAsync("client-a", "tester", ct));
        var record = Assert.Single(await keys.ListAsync(ct));
        Assert.True(record.Revoked);
        await using var db = await database.Factory.CreateDbContextAsync(ct);
        var audit = await db.AuditLog.AsNoTracking().OrderBy(a => a.Id).Select(a => a.Action + " " + a.Target + " " + a.Actor).ToListAsync(ct);
        Assert.Equal(["apikey.create apikey:client-a tester", "apikey.revoke apikey:client-a tester"], audit);
    }

    [Fact]
    public async Task CreateAsync_NameTakenInOtherCase_Throws()
    {
        await using var database = await TestDatabase.CreateAsync(Core.Configuration.DatabaseOptions.Sqlite);
        var keys = new ApiKeys(new EfApiKeyStore(database.Factory), TimeProvider.System);
        await keys.CreateAsync("same", "tester", TestContext.Current.CancellationToken);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => keys.CreateAsync("SAME", "tester", TestContext.Current.CancellationToken));

        Assert.Contains("'SAME' exists already", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FindAsync_RepeatedUse_WritesLastUsedOncePerResolution()
    {
        await using var database = await TestDatabase.CreateAsync(Core.Configuration.DatabaseOptions.Sqlite);
        var time = new ManualTime(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        var keys = new ApiKeys(new EfApiKeyStore(database.Factory), time);
        var ct = TestContext.Current.CancellationToken;
        var key = await keys.CreateAsync("busy", "tester", ct);
        var first = time.GetUtcNow();

        await keys.FindAsync(key, ct);
        time.Advance(TimeSpan.FromSeconds(30));
        await keys.FindAsync(key, ct);
        var withinResolution = (await keys.ListAsync(ct)).Single().LastUsedAt;
        time.Advance(ApiKeys.LastUsedResolution);
        await keys.FindAsync(key, ct);
        var afterResolution = (await keys.ListAsync(ct)).Single().LastUsedAt;

        Assert.Equal(first, withinResolution);
        Assert.Equal(time.GetUtcNow(), afterResolution);
    }

    [Fact]
    public async Task FindAsync_UnknownKey_ReturnsNull()
    {
        await using var database = await TestDatabase.CreateAsync(Core.Configuration.DatabaseOptions.Sqlite);
        var keys = new ApiKeys(new EfApiKeyStore(database.Factory), TimeProvider.System);
        await keys.CreateAsync("real", "tester", TestContext.Current.CancellationToken);

        Assert.Null(await keys.FindAsync("cpk-not-a-key", TestContext.Current.CancellationToken));
    }
}
