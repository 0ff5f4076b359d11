namespace ChatPlatform.Core.Chat;

/// <summary>A message as kept in a conversation's transcript.</summary>
public sealed record StoredMessage(string Role, string Text, DateTimeOffset CreatedAt)
{
    /// <summary>
    /// The message's position in its conversation, from 1, as the store numbered it (0 for a message not read from a
    /// store). Every node of a deployment sees the same number, so channels can name messages by it.
    /// </summary>
    public int Sequence { get; init; }
}

/// <summary>Where conversations and their messages are kept.</summary>
public interface IConversationStore
{
    /// <summary>
    /// Finds or creates the conversation (channel, external id). Returns the persona it belongs to:
    /// the given one for a new conversation, the stored one for an existing conversation.
    /// </summary>
    Task<string> OpenAsync(string channel, string conversationId, string persona, string locale, string? userId, CancellationToken cancellationToken);

    /// <summary>
    /// Creates the conversation (channel, external id) only when it is not stored yet. True when this call created
    /// it; false when it already existed (whoever holds it, whatever its persona), so two callers never share it.
    /// </summary>
    Task<bool> CreateAsync(string channel, string conversationId, string persona, string locale, string? userId, CancellationToken cancellationToken);

    /// <summary>The persona of a stored conversation, or null when there is no such conversation.</summary>
    Task<string?> FindAsync(string channel, string conversationId, CancellationToken cancellationToken);

    /// <summary>The most recent <paramref name="max"/> messages, oldest first.</summary>
    Task<IReadOnlyList<StoredMessage>> GetHistoryAsync(string channel, string conversationId, int max, CancellationToken cancellationToken);

    /// <summary>The messages after position <paramref name="afterSequence"/>, oldest first, at most <paramref name="max"/>.</summary>
    Task<IReadOnlyList<StoredMessage>> GetMessagesAfterAsync(string channel, string conversationId, int afterSequence, int max, CancellationToken cancellationToken);

    /// <summary>Appends one message; returns its <see cref="StoredMessage.Sequence"/> once it is durably stored.</summary>
    Task<int> AppendAsync(string channel, string conversationId, StoredMessage message, MessageDetails? details, CancellationToken cancellationToken);

    /// <summary>Adds a flag (such as <c>crisis</c>) to an opened conversation; flags are never removed by the chat path.</summary>
    Task AddFlagAsync(string channel, string conversationId, string flag, CancellationToken cancellationToken);

    /// <summary>The conversation's flags; empty when it has none or does not exist.</summary>
    Task<IReadOnlySet<string>> GetFlagsAsync(string channel, string conversationId, CancellationToken cancellationToken);
}

/// <summary>
/// Facts about a generated reply that are stored beside its text: <paramref name="Adapter"/> names the LoRA adapter(s)
/// applied, <paramref name="SafetyVerdicts"/> the safety rails' verdicts (e.g. <c>pii:redacted</c>).
/// </summary>
public sealed record MessageDetails(
    int? Tokens = null,
    double? LatencyMs = null,
    string? Model = null,
    string? FinishReason = null,
    string? Adapter = null,
    IReadOnlyList<string>? SafetyVerdicts = null);
