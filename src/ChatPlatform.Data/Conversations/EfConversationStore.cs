using ChatPlatform.Core.Chat;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Data.Conversations;

/// <summary>Conversations kept in the database; every append is its own short transaction.</summary>
public sealed class EfConversationStore(IDbContextFactory<ChatDbContext> contexts) : IConversationStore
{
    public async Task<string> OpenAsync(string channel, string conversationId, string persona, string locale, string? userId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var existing = await db.Conversations.AsNoTracking()
            .Where(c => c.Channel == channel && c.ExternalId == conversationId)
            .Select(c => c.PersonaId)
            .FirstOrDefaultAsync(cancellationToken);
        if (existing is not null) return existing;

        var now = DateTimeOffset.UtcNow;
        db.Conversations.Add(new ConversationRecord
        {
            Channel = channel, ExternalId = conversationId, PersonaId = persona, Locale = locale,
            UserId = userId, CreatedAt = now, UpdatedAt = now,
        });
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return persona;
        }
        catch (DbUpdateException)
        {
            // Another request created it at the same moment: the stored one wins.
            await using var again = await contexts.CreateDbContextAsync(cancellationToken);
            return await again.Conversations.AsNoTracking()
                .Where(c => c.Channel == channel && c.ExternalId == conversationId)
                .Select(c => c.PersonaId)
                .FirstAsync(cancellationToken);
        }
    }

    public async Task<IReadOnlyList<StoredMessage>> GetHistoryAsync(string channel, string conversationId, int max, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var rows = await (
                from m in db.Messages.AsNoTracking()
                join c in db.Conversations.AsNoTracking() on m.ConversationId equals c.Id
                where c.Channel == channel && c.ExternalId == conversationId
                orderby m.Sequence descending
                select new { m.Role, m.Text, m.CreatedAt })
            .Take(max)
            .ToListAsync(cancellationToken);
        rows.Reverse();
        return rows.Select(r => new StoredMessage(r.Role, r.Text, r.CreatedAt)).ToList();
    }

    public async Task AppendAsync(string channel, string conversationId, StoredMessage message, MessageDetails? details, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var conversation = await db.Conversations
            .FirstOrDefaultAsync(c => c.Channel == channel && c.ExternalId == conversationId, cancellationToken)
            ?? throw new InvalidOperationException($"Conversation '{conversationId}' on channel '{channel}' was not opened.");
        var last = await db.Messages.Where(m => m.ConversationId == conversation.Id).MaxAsync(m => (int?)m.Sequence, cancellationToken) ?? 0;
        db.Messages.Add(new MessageRecord
        {
            ConversationId = conversation.Id,
            Sequence = last + 1,
            Role = message.Role,
            Text = message.Text,
            CreatedAt = message.CreatedAt,
            Tokens = details?.Tokens,
            LatencyMs = details?.LatencyMs,
            Model = details?.Model,
            FinishReason = details?.FinishReason,
        });
        conversation.UpdatedAt = DateTimeOffset.UtcNow;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task AddFlagAsync(string channel, string conversationId, string flag, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(flag) || flag.Any(char.IsWhiteSpace))
            throw new ArgumentException($"A flag is one word without spaces (got '{flag}').", nameof(flag));
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var conversation = await db.Conversations
            .FirstOrDefaultAsync(c => c.Channel == channel && c.ExternalId == conversationId, cancellationToken)
            ?? throw new InvalidOperationException($"Conversation '{conversationId}' on channel '{channel}' was not opened.");
        var flags = ParseFlags(conversation.Flags);
        if (!flags.Add(flag)) return;
        conversation.Flags = string.Join(' ', flags.Order(StringComparer.Ordinal));
        conversation.UpdatedAt = DateTimeOffset.UtcNow;
        await db.SaveChangesAsync(cancellationToken);
    }

    public async Task<IReadOnlySet<string>> GetFlagsAsync(string channel, string conversationId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var flags = await db.Conversations.AsNoTracking()
            .Where(c => c.Channel == channel && c.ExternalId == conversationId)
            .Select(c => c.Flags)
            .FirstOrDefaultAsync(cancellationToken);
        return ParseFlags(flags);
    }

    private static HashSet<string> ParseFlags(string? flags) =>
        new(flags?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [], StringComparer.Ordinal);
}
