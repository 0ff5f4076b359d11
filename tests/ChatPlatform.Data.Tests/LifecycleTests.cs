using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Safety;
using ChatPlatform.Data.Audit;
using ChatPlatform.Data.Conversations;
using ChatPlatform.Data.Feedback;
using ChatPlatform.Data.Lifecycle;
using ChatPlatform.Data.Safety;
using ChatPlatform.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace ChatPlatform.Data.Tests;

public sealed class LifecycleTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ExportThenErase_OneUser_ExportHoldsTheirMessagesAndNoTableHoldsTheirTextOrIds(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var store = new EfConversationStore(database.Factory);
        await SeedAsync(database, store, "alice-7731", "alice-conv", "alice secret zebra");
        await SeedAsync(database, store, "bob-1200", "bob-conv", "bob keeps this");
        var lifecycle = new DataLifecycle(database.Factory, new RetentionOptions());

        var export = await lifecycle.ExportUserAsync("alice-7731", Ct);
        var erased = await lifecycle.EraseUserAsync("alice-7731", "cli", Ct);

        var conversation = Assert.Single(export.Conversations);
        Assert.Equal("alice-conv", conversation.ConversationId);
        Assert.Equal(["alice secret zebra", "reply to alice secret zebra"], conversation.Messages.Select(m => m.Text).ToArray());
        Assert.Equal("thanks alice secret zebra", Assert.Single(conversation.Feedback).Comment);
        Assert.Equal("crisis", Assert.Single(conversation.SafetyEvents).Rail);
        Assert.Equal(new EraseResult(1, 2, 1, 1), erased);

        var everything = await DumpAllTextAsync(database);
        foreach (var secret in new[] { "alice-7731", "alice-conv", "alice secret zebra" })
            Assert.DoesNotContain(secret, everything, StringComparison.Ordinal);
        Assert.Contains("bob keeps this", everything, StringComparison.Ordinal);

        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        var anonymised = await db.SafetyEvents.AsNoTracking().Where(s => s.Erased).SingleAsync(Ct);
        Assert.Equal(("web", "testbot", "crisis", "High", "referral"), (anonymised.Channel, anonymised.Persona, anonymised.Rail, anonymised.Severity, anonymised.Action));
        var audit = await db.AuditLog.AsNoTracking().SingleAsync(a => a.Action == "user.erase", Ct);
        Assert.Equal("user-sha256:" + DataLifecycle.HashUserId("alice-7731"), audit.Target);
        Assert.Equal("cli", audit.Actor);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task EraseConversation_WithoutUserId_RemovesItAndTheCuratedAnswersMadeFromItsQuestions(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var store = new EfConversationStore(database.Factory);
        await SeedAsync(database, store, null, "anon-conv", "anon question lemur");
        await SeedAsync(database, store, "bob-1200", "bob-conv", "bob keeps this");
        await using (var db = await database.Factory.CreateDbContextAsync(Ct))
        {
            foreach (var (key, question, answer) in new[] { ("copy", "  anon question lemur ", "reply to anon question lemur"), ("other", "bob keeps this too", "an answer for bob") })
                db.CuratedAnswers.Add(new Knowledge.CuratedAnswerRecord
                {
                    PersonaId = "testbot", Key = key, Question = question, Answer = answer, Author = "editor",
                    CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow,
                });
            await db.SaveChangesAsync(Ct);
        }
        long id;
        await using (var db = await database.Factory.CreateDbContextAsync(Ct))
            id = await db.Conversations.Where(c => c.ExternalId == "anon-conv").Select(c => c.Id).SingleAsync(Ct);

        var erased = await new DataLifecycle(database.Factory, new RetentionOptions()).EraseConversationAsync(id, "cli", Ct);

        Assert.Equal(new EraseResult(1, 2, 1, 1) { CuratedAnswers = 1 }, erased);
        var everything = await DumpAllTextAsync(database);
        foreach (var secret in new[] { "anon-conv", "anon question lemur" })
            Assert.DoesNotContain(secret, everything, StringComparison.Ordinal);
        Assert.Contains("bob keeps this too", everything, StringComparison.Ordinal);
        await using var check = await database.Factory.CreateDbContextAsync(Ct);
        var audit = await check.AuditLog.AsNoTracking().SingleAsync(a => a.Action == DataLifecycle.ConversationEraseAction, Ct);
        Assert.Equal($"conversation:{id}", audit.Target);
        // Running servers find the copies they hold by the hashed key alone.
        var details = System.Text.Json.JsonSerializer.Deserialize<ErasureDetails>(audit.Details!)!;
        Assert.Equal([Core.Privacy.ConversationKeys.Hash("web", "anon-conv")], details.Forget);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PurgeAsync_PerPersonaAndSafetyPeriods_RemovesOnlyWhatIsOlder(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var store = new EfConversationStore(database.Factory);
        foreach (var (persona, id) in new[] { ("mindchat", "m-old"), ("mindchat", "m-new"), ("gradchat", "g-old") })
        {
            await store.OpenAsync("web", id, persona, "en", null, Ct);
            await store.AppendAsync("web", id, new StoredMessage("user", id, DateTimeOffset.UtcNow), null, Ct);
        }
        await SafetyEventWriter.StoreAsync(database.Factory, [
            new SafetyEvent("web", "m-old", "mindchat", "crisis", SafetySeverity.High, "referral", null, DateTimeOffset.UtcNow),
            new SafetyEvent("web", "gone", "mindchat", "pii", SafetySeverity.Low, "redact", null, DateTimeOffset.UtcNow.AddDays(-100))], Ct);
        var now = DateTimeOffset.UtcNow;
        await using (var db = await database.Factory.CreateDbContextAsync(Ct))
        {
            await db.Conversations.Where(c => c.ExternalId == "m-old").ExecuteUpdateAsync(s => s.SetProperty(c => c.UpdatedAt, now.AddDays(-40)), Ct);
            await db.Conversations.Where(c => c.ExternalId == "m-new").ExecuteUpdateAsync(s => s.SetProperty(c => c.UpdatedAt, now.AddDays(-20)), Ct);
            await db.Conversations.Where(c => c.ExternalId == "g-old").ExecuteUpdateAsync(s => s.SetProperty(c => c.UpdatedAt, now.AddDays(-40)), Ct);
        }
        var retention = new RetentionOptions { ConversationDays = 365, SafetyEventDays = 90 };
        retention.PersonaConversationDays["mindchat"] = 30;

        var result = await new DataLifecycle(database.Factory, retention).PurgeAsync(now, Ct);

        Assert.Equal(new PurgeResult(1, 1, 0, 1), result);
        await using var check = await database.Factory.CreateDbContextAsync(Ct);
        Assert.Equal(["g-old", "m-new"], await check.Conversations.OrderBy(c => c.ExternalId).Select(c => c.ExternalId).ToArrayAsync(Ct));
        var kept = await check.SafetyEvents.AsNoTracking().SingleAsync(Ct);
        Assert.Equal("crisis", kept.Rail);
        Assert.Null(kept.ConversationId);   // its conversation was purged; the event stays for its own period
        Assert.Equal("retention.purge", (await check.AuditLog.AsNoTracking().SingleAsync(Ct)).Action);
    }

    [Fact]
    public async Task BackupAsync_WhileAnotherWriterAppends_WritesConsistentOpenableCopy()
    {
        await using var database = await TestDatabase.CreateAsync("Sqlite");
        var store = new EfConversationStore(database.Factory);
        await store.OpenAsync("web", "busy", "testbot", "en", null, Ct);
        using var stop = new CancellationTokenSource();
        var written = 0;
        var writer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await store.AppendAsync("web", "busy", new StoredMessage("user", $"m{written + 1}", DateTimeOffset.UtcNow), null, CancellationToken.None);
                written++;
            }
        }, Ct);
        while (Volatile.Read(ref written) < 50) await Task.Delay(10, Ct);
        var backup = Path.Combine(database.DataDirectory, "backup", "copy.db");

        await new DataLifecycle(database.Factory, new RetentionOptions()).BackupAsync(backup, Ct);
        var writtenAtBackup = Volatile.Read(ref written);
        await stop.CancelAsync();
        await writer;

        await using var copy = new SqliteConnection($"Data Source={backup};Mode=ReadOnly;Pooling=False");
        await copy.OpenAsync(Ct);
        await using var check = copy.CreateCommand();
        check.CommandText = "PRAGMA integrity_check";
        Assert.Equal("ok", await check.ExecuteScalarAsync(Ct));
        check.CommandText = "SELECT COUNT(*), MAX(Sequence), (SELECT MessageCount FROM conversations) FROM messages";
        await using var reader = await check.ExecuteReaderAsync(Ct);
        Assert.True(await reader.ReadAsync(Ct));
        var (count, max, counter) = (reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2));
        Assert.True(count >= 50 && count <= writtenAtBackup + 1, $"backup holds {count} messages; {writtenAtBackup} were written when it finished");
        Assert.Equal(count, max);
        Assert.Equal(count, counter);
        await Assert.ThrowsAsync<IOException>(() => new DataLifecycle(database.Factory, new RetentionOptions()).BackupAsync(backup, Ct));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task SafetyEventWriter_EventsRecordedThenHostStops_StoresEveryEventLinkedToItsConversation(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var store = new EfConversationStore(database.Factory);
        await store.OpenAsync("web", "s1", "testbot", "en", null, Ct);
        var sink = new StoredSafetyEventSink();
        var log = new CapturingLogger<SafetyEventWriter>();
        using var writer = new SafetyEventWriter(sink, database.Factory, log);
        await writer.StartAsync(Ct);

        for (var i = 0; i < 250; i++)
            await sink.RecordAsync(new SafetyEvent("web", i % 2 == 0 ? "s1" : "elsewhere", "testbot", "pii", SafetySeverity.Low, "redact", $"[EMAIL] {i}", DateTimeOffset.UtcNow), Ct);
        await writer.StopAsync(Ct);

        Assert.True(writer.ExecuteTask is { IsCompletedSuccessfully: true }, $"writer ended with {writer.ExecuteTask?.Status}: {writer.ExecuteTask?.Exception}");
        Assert.Empty(log.Lines);
        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        Assert.Equal(250, await db.SafetyEvents.CountAsync(Ct));
        Assert.Equal(125, await db.SafetyEvents.CountAsync(s => s.ConversationId != null, Ct));
        Assert.All(await db.SafetyEvents.AsNoTracking().ToListAsync(Ct), s => Assert.Equal(SafetyReviewState.Pending, s.ReviewState));
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await sink.RecordAsync(new SafetyEvent("web", "s1", "testbot", "pii", SafetySeverity.Low, "redact", null, DateTimeOffset.UtcNow), Ct));
    }

    [Fact]
    public async Task AuditLog_EntryChangedOrDeleted_SaveIsRefused()
    {
        await using var database = await TestDatabase.CreateAsync("Sqlite");
        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        var entry = new AuditEntry { At = DateTimeOffset.UtcNow, Actor = "admin", Action = "persona.activate", Target = "persona:mindchat" };
        db.AuditLog.Add(entry);
        await db.SaveChangesAsync(Ct);

        entry.Actor = "someone else";
        await Assert.ThrowsAsync<InvalidOperationException>(() => db.SaveChangesAsync(Ct));
        db.Entry(entry).State = EntityState.Deleted;
        await Assert.ThrowsAsync<InvalidOperationException>(() => db.SaveChangesAsync(Ct));

        await using var fresh = await database.Factory.CreateDbContextAsync(Ct);
        Assert.Equal("admin", (await fresh.AuditLog.AsNoTracking().SingleAsync(Ct)).Actor);
    }

    private static async Task SeedAsync(TestDatabase database, EfConversationStore store, string? user, string conversation, string text)
    {
        await store.OpenAsync("web", conversation, "testbot", "en", user, Ct);
        await store.AppendAsync("web", conversation, new StoredMessage("user", text, DateTimeOffset.UtcNow), null, Ct);
        await store.AppendAsync("web", conversation, new StoredMessage("assistant", "reply to " + text, DateTimeOffset.UtcNow), null, Ct);
        await SafetyEventWriter.StoreAsync(database.Factory,
            [new SafetyEvent("web", conversation, "testbot", "crisis", SafetySeverity.High, "referral", "excerpt " + text, DateTimeOffset.UtcNow)], Ct);
        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        var ids = await db.Conversations.Where(c => c.ExternalId == conversation).Select(c => c.Id).SingleAsync(Ct);
        var message = await db.Messages.Where(m => m.ConversationId == ids && m.Sequence == 2).Select(m => m.Id).SingleAsync(Ct);
        db.Feedback.Add(new FeedbackRecord { ConversationId = ids, MessageId = message, Rating = 1, Comment = "thanks " + text, CreatedAt = DateTimeOffset.UtcNow });
        await db.SaveChangesAsync(Ct);
    }

    /// <summary>Every value of every column of every table, as text: what "no table holds it" is checked against.</summary>
    private static async Task<string> DumpAllTextAsync(TestDatabase database)
    {
        var all = new System.Text.StringBuilder();
        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        await db.Database.OpenConnectionAsync(Ct);
        var connection = db.Database.GetDbConnection();
        foreach (var table in await MigrationTests.TablesAsync(database))
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT * FROM \"{table}\"";
            await using var reader = await command.ExecuteReaderAsync(Ct);
            while (await reader.ReadAsync(Ct))
            {
                for (var i = 0; i < reader.FieldCount; i++)
                    all.Append(reader.IsDBNull(i) ? "" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)).Append('|');
                all.AppendLine();
            }
        }
        return all.ToString();
    }
}
