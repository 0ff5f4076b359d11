namespace ChatPlatform.Data.Feedback;

/// <summary>A user's rating of a reply (or of the whole conversation when <see cref="MessageId"/> is null).</summary>
public sealed class FeedbackRecord
{
    public long Id { get; set; }
    public long ConversationId { get; set; }
    public long? MessageId { get; set; }
    /// <summary>-1 (bad), 0 or +1 (good); channels with stars map them onto this scale.</summary>
    public int Rating { get; set; }
    public string? Comment { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}
