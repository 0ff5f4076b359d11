using System.Diagnostics;
using ChatPlatform.Data.Conversations;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace ChatPlatform.Data.Tests;

public sealed class CrashTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task WriterProcess_KilledMidStream_KeepsEveryAcknowledgedMessageAndPassesIntegrityCheck(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var target = database.Factory.IsPostgres ? database.Database.ConnectionString! : database.DataDirectory;
        var writer = Path.Combine(AppContext.BaseDirectory, "ChatPlatform.Data.CrashWriter.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { writer, provider, target, "8" })
            start.ArgumentList.Add(arg);

        var acknowledged = new List<string>();
        using (var process = Process.Start(start)!)
        {
            try
            {
                // Let it get well into the stream, then kill it without warning in the middle of writing.
                while (acknowledged.Count < 300 && await process.StandardOutput.ReadLineAsync(Ct) is { } line)
                {
                    if (line.StartsWith("ack ", StringComparison.Ordinal))
                        acknowledged.Add(line[4..]);
                }
            }
            finally
            {
                process.Kill(entireProcessTree: true);   // SIGKILL on Linux
                await process.WaitForExitAsync(Ct);
            }
            // Lines already printed before the kill were acknowledged too.
            while (await process.StandardOutput.ReadLineAsync(Ct) is { } rest)
            {
                if (rest.StartsWith("ack ", StringComparison.Ordinal) && !rest.Contains('\0', StringComparison.Ordinal) && rest.Length > 4)
                    acknowledged.Add(rest[4..]);
            }
            Assert.True(acknowledged.Count >= 300, $"The writer acknowledged only {acknowledged.Count} messages: {await process.StandardError.ReadToEndAsync(Ct)}");
        }

        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        if (!database.Factory.IsPostgres)
        {
            await db.Database.OpenConnectionAsync(Ct);
            await using var check = db.Database.GetDbConnection().CreateCommand();
            check.CommandText = "PRAGMA integrity_check";
            Assert.Equal("ok", await check.ExecuteScalarAsync(Ct));
        }
        var stored = (await db.Messages.AsNoTracking().Select(m => m.Text).ToListAsync(Ct)).ToHashSet();
        var missing = acknowledged.Where(a => !stored.Contains(a)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} acknowledged message(s) missing after the kill, e.g. {string.Join(", ", missing.Take(5))}");

        // Sequences stay gap-free per conversation, and the store keeps working on the same database afterwards.
        var sequences = await db.Messages.AsNoTracking().GroupBy(m => m.ConversationId)
            .Select(g => new { Count = g.Count(), Max = g.Max(m => m.Sequence) }).ToListAsync(Ct);
        Assert.All(sequences, s => Assert.Equal(s.Count, s.Max));
        var store = new EfConversationStore(database.Factory);
        await store.AppendAsync("crash", "c0", new Core.Chat.StoredMessage("user", "after the crash", DateTimeOffset.UtcNow), null, Ct);
        Assert.Equal("after the crash", (await store.GetHistoryAsync("crash", "c0", 1, Ct))[0].Text);
    }
}
