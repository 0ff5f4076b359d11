using ChatPlatform.Core.Chat;
using ChatPlatform.Data;
using ChatPlatform.Data.Feedback;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Channels.BotFramework;

/// <summary>A channel-side identity a persona can be bound to: a Teams tenant or team, a Slack workspace, a bot app id.</summary>
public sealed record BindingKey(string Channel, string EndpointId);

/// <summary>
/// What the bot reads and writes in the store beside the transcript: channel bindings (through the store's one
/// binding lookup, which the console edits) and feedback.
/// </summary>
public sealed class BotDirectory(IDbContextFactory<ChatDbContext> contexts, IChannelBindingLookup bindings, TimeProvider time)
{
    /// <summary>The persona of the first enabled binding among <paramref name="keys"/>, in their order.</summary>
    public async Task<string?> FindPersonaAsync(IReadOnlyList<BindingKey> keys, CancellationToken cancellationToken)
    {
        foreach (var key in keys)
            if (await bindings.FindPersonaAsync(key.Channel, key.EndpointId, cancellationToken) is { } bound)
                return bound.PersonaId;
        return null;
    }

    /// <summary>The stored id of the conversation's latest assistant message, once a reply has been stored.</summary>
    public async Task<long?> LatestReplyIdAsync(string channel, string conversationId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await (
                from m in db.Messages.AsNoTracking()
                join c in db.Conversations.AsNoTracking() on m.ConversationId equals c.Id
                where c.Channel == channel && c.ExternalId == conversationId && m.Role == "assistant"
                orderby m.Sequence descending
                select (long?)m.Id)
            .FirstOrDefaultAsync(cancellationToken);
    }

    /// <summary>Stores a rating; false when the conversation is not in the store (nothing was said in it yet).</summary>
    public async Task<bool> AddFeedbackAsync(string channel, string conversationId, long? messageId, int rating, string comment, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var conversation = await FindConversationAsync(db, channel, conversationId, cancellationToken);
        if (conversation is null)
            return false;
        db.Feedback.Add(new FeedbackRecord
        {
            ConversationId = conversation.Value,
            MessageId = messageId,
            Rating = Math.Clamp(rating, -1, 1),
            Comment = comment,
            CreatedAt = time.GetUtcNow(),
        });
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    /// <summary>Removes the rating a withdrawn reaction had added; returns how many rows went.</summary>
    public async Task<int> RemoveFeedbackAsync(string channel, string conversationId, long? messageId, string comment, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var conversation = await FindConversationAsync(db, channel, conversationId, cancellationToken);
        if (conversation is null)
            return 0;
        var row = await db.Feedback
            .Where(f => f.ConversationId == conversation.Value && f.MessageId == messageId && f.Comment == comment)
            .OrderByDescending(f => f.Id)
            .FirstOrDefaultAsync(cancellationToken);
        if (row is null)
            return 0;
        db.Feedback.Remove(row);
        return await db.SaveChangesAsync(cancellationToken);
    }

    private static Task<long?> FindConversationAsync(ChatDbContext db, string channel, string conversationId, CancellationToken cancellationToken) =>
        db.Conversations.AsNoTracking()
            .Where(c => c.Channel == channel && c.ExternalId == conversationId)
            .Select(c => (long?)c.Id)
            .FirstOrDefaultAsync(cancellationToken);
}
