namespace ChatPlatform.Data.Conversations;

public sealed class ConversationRecord
{
    public long Id { get; set; }
    public required string Channel { get; set; }
    /// <summary>The conversation id the channel uses.</summary>
    public required string ExternalId { get; set; }
    public required string PersonaId { get; set; }
    public required string Locale { get; set; }
    public string? UserId { get; set; }
    /// <summary>Safety flags such as <c>crisis</c>, space-separated; null when none.</summary>
    public string? Flags { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

public sealed class MessageRecord
{
    public long Id { get; set; }
    public long ConversationId { get; set; }
    /// <summary>Position in the conversation, from 1.</summary>
    public int Sequence { get; set; }
    public required string Role { get; set; }
    public required string Text { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public int? Tokens { get; set; }
    public double? LatencyMs { get; set; }
    public string? Model { get; set; }
    public string? FinishReason { get; set; }
}
