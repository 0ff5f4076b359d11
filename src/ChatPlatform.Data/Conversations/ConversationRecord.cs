namespace ChatPlatform.Data.Conversations;

public sealed class ConversationRecord
{
    public long Id { get; set; }
    public required string Channel { get; set; }
    /// <summary>The conversation id the channel uses.</summary>
    public required string ExternalId { get; set; }
    public required string PersonaId { get; set; }
    public required string Locale { get; set; }
    /// <summary>The end user as the channel knows them; export and erase find a person's data by it.</summary>
    public string? UserId { get; set; }
    /// <summary><see cref="ConversationStates.Active"/> or <see cref="ConversationStates.Closed"/>.</summary>
    public string State { get; set; } = ConversationStates.Active;
    /// <summary>The persona's crisis protocol was engaged in this conversation.</summary>
    public bool CrisisEngaged { get; set; }
    public DateTimeOffset? CrisisEngagedAt { get; set; }
    /// <summary>Messages stored so far; the next message takes this number plus one as its sequence.</summary>
    public int MessageCount { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

public static class ConversationStates
{
    public const string Active = "active";
    public const string Closed = "closed";
}

public sealed class MessageRecord
{
    public long Id { get; set; }
    public long ConversationId { get; set; }
    /// <summary>Position in the conversation, from 1.</summary>
    public int Sequence { get; set; }
    public required string Role { get; set; }
    /// <summary>The text as stored: after PII redaction when the persona's policy asks for it.</summary>
    public required string Text { get; set; }
    /// <summary>The text went through the redactor before it was stored.</summary>
    public bool Redacted { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public int? Tokens { get; set; }
    public double? LatencyMs { get; set; }
    public string? Model { get; set; }
    /// <summary>The LoRA adapter(s) applied, e.g. <c>mindchat-lora@0.8</c>.</summary>
    public string? Adapter { get; set; }
    public string? FinishReason { get; set; }
    /// <summary>The safety verdicts that applied to this message, e.g. <c>pii:redacted</c>, <c>crisis:engaged</c>; comma separated.</summary>
    public string? SafetyVerdicts { get; set; }
}
