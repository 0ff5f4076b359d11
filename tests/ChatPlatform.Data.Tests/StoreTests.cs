using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Privacy;
using ChatPlatform.Data.Conversations;
using ChatPlatform.Testing;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace ChatPlatform.Data.Tests;

public sealed class StoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task AppendAsync_FiftyConversationsTwentyTurnsConcurrently_StoresEveryMessageOnceInOrder(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var store = new EfConversationStore(database.Factory);
        const int conversations = 50, turns = 20;

        await Task.WhenAll(Enumerable.Range(0, conversations).Select(async c =>
        {
            await Task.Yield();
            await store.OpenAsync("web", $"conv-{c}", "testbot", "en", $"user-{c}", Ct);
            for (var t = 1; t <= turns; t++)
            {
                await store.AppendAsync("web", $"conv-{c}", new StoredMessage("user", $"c{c} t{t} question", DateTimeOffset.UtcNow), null, Ct);
                await store.AppendAsync("web", $"conv-{c}", new StoredMessage("assistant", $"c{c} t{t} answer", DateTimeOffset.UtcNow),
                    new MessageDetails(Tokens: t, LatencyMs: 1.5, Model: "tiny"), Ct);
            }
        }));

        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        var rows = await db.Messages.AsNoTracking()
            .Join(db.Conversations, m => m.ConversationId, c => c.Id, (m, c) => new { c.ExternalId, c.MessageCount, m.Sequence, m.Text })
            .ToListAsync(Ct);
        Assert.Equal(conversations * turns * 2, rows.Count);
        foreach (var group in rows.GroupBy(r => r.ExternalId))
        {
            var c = group.Key["conv-".Length..];
            var ordered = group.OrderBy(r => r.Sequence).ToList();
            var expected = Enumerable.Range(1, turns).SelectMany(t => new[] { $"c{c} t{t} question", $"c{c} t{t} answer" }).ToList();
            Assert.Equal(expected, ordered.Select(r => r.Text).ToList());
            Assert.Equal(Enumerable.Range(1, turns * 2).ToList(), ordered.Select(r => r.Sequence).ToList());
            Assert.All(group, r => Assert.Equal(turns * 2, r.MessageCount));
        }
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task AppendAsync_ManyWritersOnOneConversation_GivesConsecutiveSequences(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var store = new EfConversationStore(database.Factory);
        await store.OpenAsync("web", "shared", "testbot", "en", null, Ct);

        await Task.WhenAll(Enumerable.Range(1, 40).Select(i =>
            Task.Run(() => store.AppendAsync("web", "shared", new StoredMessage("user", $"m{i}", DateTimeOffset.UtcNow), null, Ct), Ct)));

        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        var stored = await db.Messages.AsNoTracking().OrderBy(m => m.Sequence).ToListAsync(Ct);
        Assert.Equal(Enumerable.Range(1, 40).ToList(), stored.Select(m => m.Sequence).ToList());
        Assert.Equal(Enumerable.Range(1, 40).Select(i => $"m{i}").Order().ToList(), stored.Select(m => m.Text).Order().ToList());
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task GetHistoryAsync_AfterAppends_ReturnsLatestOldestFirstWithDetailsStored(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var store = new EfConversationStore(database.Factory);
        Assert.Equal("testbot", await store.OpenAsync("web", "h", "testbot", "en", "u", Ct));
        Assert.Equal("testbot", await store.OpenAsync("web", "h", "otherbot", "en", "u", Ct));
        for (var i = 1; i <= 5; i++)
            await store.AppendAsync("web", "h", new StoredMessage(i % 2 == 1 ? "user" : "assistant", $"m{i}", DateTimeOffset.UtcNow), null, Ct);
        await store.AppendAsync("web", "h", new StoredMessage("assistant", "m6", DateTimeOffset.UtcNow),
            new MessageDetails(12, 34.5, "tiny-model", "stop", "tone.gguf@0.8", ["pii:redacted", "scope:ok"]), Ct);

        var history = await store.GetHistoryAsync("web", "h", 3, Ct);

        Assert.Equal(["m4", "m5", "m6"], history.Select(m => m.Text).ToArray());
        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        var last = await db.Messages.AsNoTracking().SingleAsync(m => m.Sequence == 6, Ct);
        Assert.Equal((12, 34.5, "tiny-model", "stop", "tone.gguf@0.8", "pii:redacted,scope:ok"),
            (last.Tokens!.Value, last.LatencyMs!.Value, last.Model, last.FinishReason, last.Adapter, last.SafetyVerdicts));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task CreateAsync_ManyCallersOneId_ExactlyOneCreatesItAndFindSeesItsPersona(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var store = new EfConversationStore(database.Factory);
        Assert.Null(await store.FindAsync("web", "claimed", Ct));

        var created = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            await Task.Yield();
            return await store.CreateAsync("web", "claimed", "testbot", "en", $"user-{i}", Ct);
        }));

        Assert.Single(created, c => c);
        Assert.Equal("testbot", await store.FindAsync("web", "claimed", Ct));
        Assert.False(await store.CreateAsync("web", "claimed", "other", "en", null, Ct));
        Assert.True(await store.CreateAsync("slack", "claimed", "other", "en", null, Ct));
        Assert.Equal("other", await store.FindAsync("slack", "claimed", Ct));
    }

    [Fact]
    public async Task AppendAsync_UnopenedConversation_ThrowsNamingIt()
    {
        await using var database = await TestDatabase.CreateAsync("Sqlite");
        var store = new EfConversationStore(database.Factory);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            store.AppendAsync("web", "ghost", new StoredMessage("user", "hi", DateTimeOffset.UtcNow), null, Ct));
        Assert.Contains("'ghost'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AppendAsync_PersonaAsksForRedaction_StoresRedactedText()
    {
        await using var database = await TestDatabase.CreateAsync("Sqlite");
        var careful = TestPersonas.Create("careful");
        var open = TestPersonas.Create("open") with { Safety = new() { RedactPii = false } };
        var store = new EfConversationStore(database.Factory, new DigitRedactor(), TestPersonas.Catalog(careful, open));
        await store.OpenAsync("web", "a", "careful", "en", null, Ct);
        await store.OpenAsync("web", "b", "open", "en", null, Ct);
        await store.OpenAsync("web", "c", "unknown-persona", "en", null, Ct);

        foreach (var id in new[] { "a", "b", "c" })
            await store.AppendAsync("web", id, new StoredMessage("user", "call me on 555 1234", DateTimeOffset.UtcNow), null, Ct);

        Assert.Equal("call me on ### ####", (await store.GetHistoryAsync("web", "a", 10, Ct))[0].Text);
        Assert.Equal("call me on 555 1234", (await store.GetHistoryAsync("web", "b", 10, Ct))[0].Text);
        Assert.Equal("call me on ### ####", (await store.GetHistoryAsync("web", "c", 10, Ct))[0].Text);
    }

    [Fact]
    public async Task MarkCrisisEngagedAsync_OpenConversation_SetsFlagOnce()
    {
        await using var database = await TestDatabase.CreateAsync("Sqlite");
        var store = new EfConversationStore(database.Factory);
        await store.OpenAsync("web", "k", "testbot", "en", null, Ct);
        await store.MarkCrisisEngagedAsync("web", "k", Ct);
        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        var first = await db.Conversations.AsNoTracking().SingleAsync(Ct);
        await store.MarkCrisisEngagedAsync("web", "k", Ct);
        var second = await db.Conversations.AsNoTracking().SingleAsync(Ct);
        Assert.True(first.CrisisEngaged);
        Assert.NotNull(first.CrisisEngagedAt);
        Assert.Equal(first.CrisisEngagedAt, second.CrisisEngagedAt);
    }

    [Fact]
    public async Task SqliteConnection_Opened_HasWalBusyTimeoutAndForeignKeys()
    {
        await using var database = await TestDatabase.CreateAsync("Sqlite");
        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        await db.Database.OpenConnectionAsync(Ct);
        Assert.Equal("wal", await Pragma(db, "journal_mode"));
        Assert.Equal("30000", await Pragma(db, "busy_timeout"));
        Assert.Equal("1", await Pragma(db, "foreign_keys"));
        Assert.Equal("2", await Pragma(db, "synchronous"));
    }

    private static async Task<string> Pragma(ChatDbContext db, string name)
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = "PRAGMA " + name;
        return Convert.ToString(await command.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture)!;
    }

    private sealed class DigitRedactor : ITextRedactor
    {
        public string Redact(string text) => new([.. text.Select(ch => char.IsAsciiDigit(ch) ? '#' : ch)]);
    }
}
