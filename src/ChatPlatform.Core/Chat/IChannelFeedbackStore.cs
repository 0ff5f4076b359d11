namespace ChatPlatform.Core.Chat;

/// <summary>
/// Ratings users give replies on a channel (such as reactions in Teams), stored beside the transcript of the channel's
/// conversation.
/// </summary>
public interface IChannelFeedbackStore
{
    /// <summary>The stored id of the conversation's latest assistant message, once a reply has been stored.</summary>
    Task<long?> LatestReplyIdAsync(string channel, string conversationId, CancellationToken cancellationToken);

    /// <summary>Stores a rating (-1, 0 or 1); false when the conversation is not in the store (nothing was said in it yet).</summary>
    Task<bool> AddFeedbackAsync(string channel, string conversationId, long? messageId, int rating, string comment, CancellationToken cancellationToken);

    /// <summary>Removes the rating a withdrawn reaction had added; returns how many ratings went.</summary>
    Task<int> RemoveFeedbackAsync(string channel, string conversationId, long? messageId, string comment, CancellationToken cancellationToken);
}
