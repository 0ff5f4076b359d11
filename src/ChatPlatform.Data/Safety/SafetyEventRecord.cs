namespace ChatPlatform.Data.Safety;

/// <summary>A safety event as stored, with its review state.</summary>
public sealed class SafetyEventRecord
{
    public long Id { get; set; }
    /// <summary>The conversation row; null once the conversation is purged or its user erased.</summary>
    public long? ConversationId { get; set; }
    public required string Channel { get; set; }
    /// <summary>The channel's conversation id; null after erasure.</summary>
    public string? ExternalConversationId { get; set; }
    public required string Persona { get; set; }
    public required string Rail { get; set; }
    /// <summary><c>Low</c>, <c>Medium</c> or <c>High</c>.</summary>
    public required string Severity { get; set; }
    public required string Action { get; set; }
    /// <summary>Already redacted by the rail; null after erasure.</summary>
    public string? Excerpt { get; set; }
    public DateTimeOffset At { get; set; }
    /// <summary><see cref="SafetyReviewState.Pending"/>, <see cref="SafetyReviewState.Reviewed"/> or <see cref="SafetyReviewState.Dismissed"/>.</summary>
    public string ReviewState { get; set; } = SafetyReviewState.Pending;
    public string? Reviewer { get; set; }
    public DateTimeOffset? ReviewedAt { get; set; }
    public string? ReviewNote { get; set; }
    /// <summary>The identifying fields were removed on a user's request.</summary>
    public bool Erased { get; set; }
}

public static class SafetyReviewState
{
    public const string Pending = "pending";
    public const string Reviewed = "reviewed";
    public const string Dismissed = "dismissed";
    /// <summary>A reviewer sent it on to on-call staff.</summary>
    public const string Escalated = "escalated";
}
