using ChatPlatform.Core.Chat;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Data.Feedback;

/// <summary>Channel ratings in the store, each tied to the channel's stored conversation and, when known, to a reply.</summary>
public sealed class ChannelFeedbackStore(IDbContextFactory<ChatDbContext> contexts, TimeProvider time) : IChannelFeedbackStore
{
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
