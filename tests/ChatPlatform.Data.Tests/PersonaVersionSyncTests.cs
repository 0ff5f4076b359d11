using ChatPlatform.Core.Safety;
using ChatPlatform.Data.Conversations;
using ChatPlatform.Data.Personas;
using ChatPlatform.Data.Safety;
using ChatPlatform.Testing;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace ChatPlatform.Data.Tests;

public sealed class PersonaVersionSyncTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task SyncAsync_PackUnchangedThenEdited_AddsOneActiveVersionPerChangeAndRetiresTheOld(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var folder = Directory.CreateDirectory(Path.Combine(database.DataDirectory, "pack")).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "system.en.md"), "Be kind.", Ct);
        var pack = TestPersonas.Create("kindbot") with { Directory = folder };
        var sync = new PersonaVersionSync(database.Factory);

        var first = await sync.SyncAsync([pack], "alice", Ct);
        var unchanged = await sync.SyncAsync([pack], "alice", Ct);
        await File.WriteAllTextAsync(Path.Combine(folder, "system.en.md"), "Be kinder.", Ct);
        var edited = await sync.SyncAsync([pack], "bob", Ct);

        Assert.Equal(["kindbot"], first);
        Assert.Empty(unchanged);
        Assert.Equal(["kindbot"], edited);
        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        var versions = await db.PersonaVersions.AsNoTracking().OrderBy(v => v.Number).ToListAsync(Ct);
        Assert.Equal([(1, "retired", "alice"), (2, "active", "bob")], versions.Select(v => (v.Number, v.Status, v.Author)).ToArray());
        Assert.Contains("Be kinder.", versions[1].Content, StringComparison.Ordinal);
        Assert.Equal(2, await db.AuditLog.CountAsync(a => a.Action == "persona.version" && a.Target == "persona:kindbot", Ct));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task SyncAsync_VersionActivatedElsewhereAndFolderUnchanged_KeepsThatVersionLive(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var folder = Directory.CreateDirectory(Path.Combine(database.DataDirectory, "pack")).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "system.en.md"), "Be kind.", Ct);
        var pack = TestPersonas.Create("kindbot") with { Directory = folder };
        var sync = new PersonaVersionSync(database.Factory);
        await sync.SyncAsync([pack], "packs-folder", Ct);
        await using (var db = await database.Factory.CreateDbContextAsync(Ct))
        {
            // What the admin console does on activation: retire the live version, make another one live.
            var live = await db.PersonaVersions.SingleAsync(Ct);
            live.Status = PersonaVersionStatus.Retired;
            db.PersonaVersions.Add(new PersonaVersionRecord
            {
                PersonaId = "kindbot", Number = 2, Status = PersonaVersionStatus.Active, Content = "{}", ContentHash = new string('0', 64),
                Author = "editor", CreatedAt = DateTimeOffset.UtcNow,
            });
            await db.SaveChangesAsync(Ct);
        }

        var restarted = await sync.SyncAsync([pack], "packs-folder", Ct);

        Assert.Empty(restarted);
        await using var check = await database.Factory.CreateDbContextAsync(Ct);
        Assert.Equal(2, (await check.PersonaVersions.SingleAsync(v => v.Status == PersonaVersionStatus.Active, Ct)).Number);
    }

    [Fact]
    public async Task SafetyEventWriter_CrisisEvent_MarksTheConversationCrisisEngaged()
    {
        await using var database = await TestDatabase.CreateAsync("Sqlite");
        var store = new EfConversationStore(database.Factory);
        await store.OpenAsync("web", "calm", "testbot", "en", null, Ct);
        await store.OpenAsync("web", "urgent", "testbot", "en", null, Ct);

        await SafetyEventWriter.StoreAsync(database.Factory, [
            new SafetyEvent("web", "calm", "testbot", "pii", SafetySeverity.Low, "redact", null, DateTimeOffset.UtcNow),
            new SafetyEvent("web", "urgent", "testbot", "crisis", SafetySeverity.High, "referral", null, DateTimeOffset.UtcNow)], Ct);

        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        var flags = await db.Conversations.AsNoTracking().OrderBy(c => c.ExternalId).Select(c => c.CrisisEngaged).ToArrayAsync(Ct);
        Assert.Equal([false, true], flags);
    }
}
