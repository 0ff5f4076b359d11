using ChatPlatform.Core.Safety;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Privacy;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Data.Conversations;

/// <summary>
/// Conversations kept in the database. Every append is its own short transaction that first bumps the
/// conversation's message counter, which locks that conversation's row (PostgreSQL) or the database (SQLite),
/// so concurrent appends to one conversation get consecutive sequence numbers and none is lost.
/// Message text passes through the <see cref="ITextRedactor"/> when the persona's policy asks for it
/// (unknown personas are redacted: privacy by default).
/// </summary>
public sealed class EfConversationStore(
    IDbContextFactory<ChatDbContext> contexts,
    ITextRedactor? redactor = null,
    IPersonaCatalog? personas = null) : IConversationStore
{
    private readonly ITextRedactor _redactor = redactor ?? IdentityRedactor.Instance;

    public async Task<string> OpenAsync(string channel, string conversationId, string persona, string locale, string? userId, CancellationToken cancellationToken) =>
        (await InsertOrFindAsync(channel, conversationId, persona, locale, userId, cancellationToken)).Persona;

    public async Task<bool> CreateAsync(string channel, string conversationId, string persona, string locale, string? userId, CancellationToken cancellationToken) =>
        (await InsertOrFindAsync(channel, conversationId, persona, locale, userId, cancellationToken)).Created;

    /// <summary>
    /// Stores the conversation unless it is stored already; returns the persona it is stored under and whether this
    /// call created it. The unique index on (channel, external id) decides between two requests creating the same
    /// conversation: the loser sees it stored. A failed insert with nothing stored was a writer holding the database
    /// past the busy timeout: try again.
    /// </summary>
    private async Task<(string Persona, bool Created)> InsertOrFindAsync(string channel, string conversationId, string persona, string locale, string? userId, CancellationToken cancellationToken)
    {
        const int attempts = 5;
        for (var attempt = 1; ; attempt++)
        {
            if (await FindAsync(channel, conversationId, cancellationToken) is { } existing)
                return (existing, false);
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            var now = DateTimeOffset.UtcNow;
            db.Conversations.Add(new ConversationRecord
            {
                Channel = channel, ExternalId = conversationId, PersonaId = persona, Locale = locale,
                UserId = userId, CreatedAt = now, UpdatedAt = now,
            });
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return (persona, true);
            }
            catch (DbUpdateException) when (attempt < attempts)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20 * attempt), cancellationToken);
            }
            catch (DbUpdateException)
            {
                if (await FindAsync(channel, conversationId, cancellationToken) is { } stored)
                    return (stored, false);
                throw;
            }
        }
    }

    public async Task<string?> FindAsync(string channel, string conversationId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Conversations.AsNoTracking()
            .Where(c => c.Channel == channel && c.ExternalId == conversationId)
            .Select(c => c.PersonaId)
            .FirstOrDefaultAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<StoredMessage>> GetHistoryAsync(string channel, string conversationId, int max, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var rows = await (
                from m in db.Messages.AsNoTracking()
                join c in db.Conversations.AsNoTracking() on m.ConversationId equals c.Id
                where c.Channel == channel && c.ExternalId == conversationId
                orderby m.Sequence descending
                select new { m.Role, m.Text, m.CreatedAt, m.Sequence })
            .Take(max)
            .ToListAsync(cancellationToken);
        rows.Reverse();
        return rows.Select(r => new StoredMessage(r.Role, r.Text, r.CreatedAt) { Sequence = r.Sequence }).ToList();
    }

    public async Task<IReadOnlyList<StoredMessage>> GetMessagesAfterAsync(string channel, string conversationId, int afterSequence, int max, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var rows = await (
                from m in db.Messages.AsNoTracking()
                join c in db.Conversations.AsNoTracking() on m.ConversationId equals c.Id
                where c.Channel == channel && c.ExternalId == conversationId && m.Sequence > afterSequence
                orderby m.Sequence
                select new { m.Role, m.Text, m.CreatedAt, m.Sequence })
            .Take(max)
            .ToListAsync(cancellationToken);
        return rows.Select(r => new StoredMessage(r.Role, r.Text, r.CreatedAt) { Sequence = r.Sequence }).ToList();
    }

    public async Task<int> AppendAsync(string channel, string conversationId, StoredMessage message, MessageDetails? details, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var now = DateTimeOffset.UtcNow;
        var bumped = await db.Conversations
            .Where(c => c.Channel == channel && c.ExternalId == conversationId)
            .ExecuteUpdateAsync(s => s
                .SetProperty(c => c.MessageCount, c => c.MessageCount + 1)
                .SetProperty(c => c.UpdatedAt, now), cancellationToken);
        if (bumped == 0)
            throw new InvalidOperationException($"Conversation '{conversationId}' on channel '{channel}' was not opened.");
        var conversation = await db.Conversations.AsNoTracking()
            .Where(c => c.Channel == channel && c.ExternalId == conversationId)
            .Select(c => new { c.Id, c.MessageCount, c.PersonaId })
            .FirstAsync(cancellationToken);

        var redact = ShouldRedact(conversation.PersonaId);
        db.Messages.Add(new MessageRecord
        {
            ConversationId = conversation.Id,
            Sequence = conversation.MessageCount,
            Role = message.Role,
            Text = redact ? _redactor.Redact(message.Text) : message.Text,
            Redacted = redact,
            CreatedAt = message.CreatedAt.ToUniversalTime(),
            Tokens = details?.Tokens,
            LatencyMs = details?.LatencyMs,
            Model = details?.Model,
            Adapter = details?.Adapter,
            FinishReason = details?.FinishReason,
            SafetyVerdicts = details?.SafetyVerdicts is { Count: > 0 } verdicts ? string.Join(",", verdicts) : null,
        });
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return conversation.MessageCount;
    }

    /// <summary>Records that the persona's crisis protocol was engaged (kept for reviewers and the admin area).</summary>
    public async Task MarkCrisisEngagedAsync(string channel, string conversationId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var now = DateTimeOffset.UtcNow;
        await db.Conversations
            .Where(c => c.Channel == channel && c.ExternalId == conversationId && !c.CrisisEngaged)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.CrisisEngaged, true).SetProperty(c => c.CrisisEngagedAt, now), cancellationToken);
    }

    /// <summary>The store keeps the flags the platform knows as columns; today that is the crisis flag.</summary>
    public Task AddFlagAsync(string channel, string conversationId, string flag, CancellationToken cancellationToken) =>
        flag == ConversationFlags.Crisis
            ? MarkCrisisEngagedAsync(channel, conversationId, cancellationToken)
            : throw new ArgumentException($"Unknown conversation flag '{flag}'; known: {ConversationFlags.Crisis}.", nameof(flag));

    public async Task<IReadOnlySet<string>> GetFlagsAsync(string channel, string conversationId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var crisis = await db.Conversations.AsNoTracking()
            .Where(c => c.Channel == channel && c.ExternalId == conversationId)
            .Select(c => c.CrisisEngaged)
            .FirstOrDefaultAsync(cancellationToken);
        return crisis ? new HashSet<string>(StringComparer.Ordinal) { ConversationFlags.Crisis } : new HashSet<string>(StringComparer.Ordinal);
    }

    private bool ShouldRedact(string persona) => personas?.Find(persona)?.Safety.RedactPii ?? true;
}
