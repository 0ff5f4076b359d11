using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Data.Audit;
using ChatPlatform.Data.Safety;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Data.Lifecycle;

/// <summary>
/// What happens to stored data over time and on a person's request: export, erasure, retention purge and backups.
/// Each operation that changes data is one transaction and leaves an entry in the audit log.
/// </summary>
public sealed class DataLifecycle(IDbContextFactory<ChatDbContext> contexts, RetentionOptions retention)
{
    /// <summary>Everything stored about one end user (by the user id their channel reported).</summary>
    public async Task<UserExport> ExportUserAsync(string userId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userId);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var conversations = await db.Conversations.AsNoTracking().Where(c => c.UserId == userId).OrderBy(c => c.Id).ToListAsync(cancellationToken);
        return new UserExport(userId, DateTimeOffset.UtcNow, await ExportAsync(db, conversations, cancellationToken));
    }

    /// <summary>One conversation with its messages, feedback and safety events; null when it does not exist. The export is audited.</summary>
    public async Task<ExportedConversation?> ExportConversationAsync(long conversationId, string actor, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var conversation = await db.Conversations.AsNoTracking().FirstOrDefaultAsync(c => c.Id == conversationId, cancellationToken);
        if (conversation is null)
            return null;
        var exported = (await ExportAsync(db, [conversation], cancellationToken))[0];
        AuditLog.Add(db, DateTimeOffset.UtcNow, actor, "conversation.export", $"conversation:{conversationId}", new { exported.Messages.Count });
        await db.SaveChangesAsync(cancellationToken);
        return exported;
    }

    private static async Task<IReadOnlyList<ExportedConversation>> ExportAsync(
        ChatDbContext db, IReadOnlyList<Conversations.ConversationRecord> conversations, CancellationToken cancellationToken)
    {
        var ids = conversations.Select(c => c.Id).ToList();
        var messages = await db.Messages.AsNoTracking().Where(m => ids.Contains(m.ConversationId)).ToListAsync(cancellationToken);
        var feedback = await db.Feedback.AsNoTracking().Where(f => ids.Contains(f.ConversationId)).ToListAsync(cancellationToken);
        var events = await db.SafetyEvents.AsNoTracking().Where(s => s.ConversationId != null && ids.Contains(s.ConversationId.Value)).ToListAsync(cancellationToken);
        return [.. conversations.Select(c => new ExportedConversation(
            c.Channel, c.ExternalId, c.PersonaId, c.Locale, c.State, c.CrisisEngaged, c.CreatedAt, c.UpdatedAt,
            [.. messages.Where(m => m.ConversationId == c.Id).OrderBy(m => m.Sequence)
                .Select(m => new ExportedMessage(m.Sequence, m.Role, m.Text, m.CreatedAt, m.Tokens, m.Model, m.Adapter, m.SafetyVerdicts))],
            [.. feedback.Where(f => f.ConversationId == c.Id).OrderBy(f => f.Id)
                .Select(f => new ExportedFeedback(f.Rating, f.Comment, f.CreatedAt))],
            [.. events.Where(s => s.ConversationId == c.Id).OrderBy(s => s.Id)
                .Select(s => new ExportedSafetyEvent(s.Rail, s.Severity, s.Action, s.Excerpt, s.At, s.ReviewState))]))];
    }

    /// <summary>
    /// Deletes a user's conversations, messages and feedback, and the curated answers made from their words; their
    /// safety events keep only non-identifying fields (channel, persona, rail, severity, action, time, review state).
    /// The audit log records the erasure with a hash of the user id, never the id itself, and the hashed conversation
    /// keys that tell running servers to drop their copies in memory (<see cref="ErasureFeed"/>).
    /// </summary>
    public Task<EraseResult> EraseUserAsync(string userId, string actor, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userId);
        return EraseAsync(db => db.Conversations.Where(c => c.UserId == userId), actor, UserEraseAction, "user-sha256:" + HashUserId(userId), cancellationToken);
    }

    /// <summary>Erases one conversation (by its store id) as <see cref="EraseUserAsync"/> erases a user's; also for conversations without a user id.</summary>
    public Task<EraseResult> EraseConversationAsync(long conversationId, string actor, CancellationToken cancellationToken) =>
        EraseAsync(db => db.Conversations.Where(c => c.Id == conversationId), actor, ConversationEraseAction, $"conversation:{conversationId}", cancellationToken);

    public const string UserEraseAction = "user.erase";
    public const string ConversationEraseAction = "conversation.erase";

    private async Task<EraseResult> EraseAsync(
        Func<ChatDbContext, IQueryable<Conversations.ConversationRecord>> select, string actor, string action, string target, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var conversations = await select(db).AsNoTracking()
            .Select(c => new { c.Id, c.Channel, c.ExternalId, c.PersonaId }).ToListAsync(cancellationToken);
        var ids = conversations.Select(c => c.Id).ToList();

        var events = 0;
        foreach (var c in conversations)
        {
            events += await db.SafetyEvents
                .Where(s => s.ConversationId == c.Id || (s.Channel == c.Channel && s.ExternalConversationId == c.ExternalId))
                .ExecuteUpdateAsync(s => s
                    .SetProperty(e => e.ConversationId, (long?)null)
                    .SetProperty(e => e.ExternalConversationId, (string?)null)
                    .SetProperty(e => e.Excerpt, (string?)null)
                    .SetProperty(e => e.ReviewNote, (string?)null)
                    .SetProperty(e => e.Erased, true), cancellationToken);
        }

        // A curated answer made from a reply copies the person's question word for word: it goes with them.
        var asked = await db.Messages.AsNoTracking().Where(m => ids.Contains(m.ConversationId) && m.Role == "user")
            .Select(m => new { m.ConversationId, m.Text }).ToListAsync(cancellationToken);
        var curated = 0;
        foreach (var persona in conversations.Select(c => c.PersonaId).Distinct())
        {
            var questions = asked.Where(m => conversations.Any(c => c.Id == m.ConversationId && c.PersonaId == persona))
                .Select(m => CuratedQuestion(m.Text)).ToHashSet(StringComparer.Ordinal);
            if (questions.Count == 0) continue;
            var candidates = await db.CuratedAnswers.Where(a => a.PersonaId == persona).ToListAsync(cancellationToken);
            var copies = candidates.Where(a => questions.Contains(a.Question.Trim())).ToList();
            db.CuratedAnswers.RemoveRange(copies);
            curated += copies.Count;
        }

        var feedback = await db.Feedback.Where(f => ids.Contains(f.ConversationId)).ExecuteDeleteAsync(cancellationToken);
        var messages = await db.Messages.Where(m => ids.Contains(m.ConversationId)).ExecuteDeleteAsync(cancellationToken);
        var deleted = await db.Conversations.Where(c => ids.Contains(c.Id)).ExecuteDeleteAsync(cancellationToken);

        var result = new EraseResult(deleted, messages, feedback, events) { CuratedAnswers = curated };
        AuditLog.Add(db, DateTimeOffset.UtcNow, actor, action, target, new ErasureDetails(
            result.Conversations, result.Messages, result.Feedback, result.SafetyEventsAnonymised, result.CuratedAnswers,
            [.. conversations.Select(c => Core.Privacy.ConversationKeys.Hash(c.Channel, c.ExternalId))]));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>A user message as a curated answer made from it holds it (trimmed, at most 2000 characters).</summary>
    private static string CuratedQuestion(string text)
    {
        var trimmed = text.Trim();
        return (trimmed.Length > 2000 ? trimmed[..2000] : trimmed).Trim();
    }

    /// <summary>
    /// Removes conversations whose last activity is older than their persona's retention period, and safety
    /// events older than their own period. Returns what was removed; an audit entry records non-empty purges.
    /// </summary>
    public async Task<PurgeResult> PurgeAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var personas = await db.Conversations.AsNoTracking().Select(c => c.PersonaId).Distinct().ToListAsync(cancellationToken);
        int conversations = 0, messages = 0, feedback = 0, events = 0;
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        foreach (var persona in personas)
        {
            if (retention.ConversationPeriodFor(persona) is not { } period) continue;
            var cutoff = now - period;
            var old = db.Conversations.Where(c => c.PersonaId == persona && c.UpdatedAt < cutoff).Select(c => c.Id);
            feedback += await db.Feedback.Where(f => old.Contains(f.ConversationId)).ExecuteDeleteAsync(cancellationToken);
            messages += await db.Messages.Where(m => old.Contains(m.ConversationId)).ExecuteDeleteAsync(cancellationToken);
            conversations += await db.Conversations.Where(c => c.PersonaId == persona && c.UpdatedAt < cutoff).ExecuteDeleteAsync(cancellationToken);
        }
        if (retention.SafetyEventDays > 0)
        {
            var cutoff = now - TimeSpan.FromDays(retention.SafetyEventDays);
            events = await db.SafetyEvents.Where(s => s.At < cutoff).ExecuteDeleteAsync(cancellationToken);
        }
        var result = new PurgeResult(conversations, messages, feedback, events);
        if (result.Total > 0)
        {
            db.AuditLog.Add(new AuditEntry
            {
                At = now, Actor = "system", Action = "retention.purge", Target = "store", Details = JsonSerializer.Serialize(result),
            });
            await db.SaveChangesAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>
    /// Writes a consistent copy of the SQLite database to <paramref name="destination"/> while the server keeps
    /// writing (<c>VACUUM INTO</c> reads one snapshot; writers are not blocked in WAL mode).
    /// </summary>
    public async Task BackupAsync(string destination, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(destination);
        var target = Path.GetFullPath(destination);
        if (File.Exists(target))
            throw new IOException($"'{target}' already exists; choose a new file for the backup.");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (!db.Database.IsSqlite())
            throw new NotSupportedException("Online backups here are for SQLite; back up PostgreSQL with pg_dump.");
        var connection = (SqliteConnection)db.Database.GetDbConnection();
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "VACUUM INTO $target;";
        command.Parameters.AddWithValue("$target", target);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>How an erased user appears in the audit log: SHA-256 of the id, hex; hash an id to check whether it was erased.</summary>
    public static string HashUserId(string userId) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(userId)));
}

public sealed record UserExport(string UserId, DateTimeOffset ExportedAt, IReadOnlyList<ExportedConversation> Conversations);

public sealed record ExportedConversation(
    string Channel, string ConversationId, string Persona, string Locale, string State, bool CrisisEngaged,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    IReadOnlyList<ExportedMessage> Messages, IReadOnlyList<ExportedFeedback> Feedback, IReadOnlyList<ExportedSafetyEvent> SafetyEvents);

public sealed record ExportedMessage(int Sequence, string Role, string Text, DateTimeOffset CreatedAt, int? Tokens, string? Model, string? Adapter, string? SafetyVerdicts);

public sealed record ExportedFeedback(int Rating, string? Comment, DateTimeOffset CreatedAt);

public sealed record ExportedSafetyEvent(string Rail, string Severity, string Action, string? Excerpt, DateTimeOffset At, string ReviewState);

public sealed record EraseResult(int Conversations, int Messages, int Feedback, int SafetyEventsAnonymised)
{
    /// <summary>Curated answers removed because their question was the erased person's own words.</summary>
    public int CuratedAnswers { get; init; }
}

/// <summary>What an erasure's audit entry holds: counts, and the hashed keys of the erased conversations.</summary>
public sealed record ErasureDetails(int Conversations, int Messages, int Feedback, int SafetyEventsAnonymised, int CuratedAnswers, IReadOnlyList<string> Forget);

public sealed record PurgeResult(int Conversations, int Messages, int Feedback, int SafetyEvents)
{
    public int Total => Conversations + Messages + Feedback + SafetyEvents;
}
