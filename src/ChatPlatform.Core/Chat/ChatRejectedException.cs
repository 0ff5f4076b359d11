namespace ChatPlatform.Core.Chat;

/// <summary>
/// Raised by an inference backend before a reply starts when it will not produce one:
/// the core is busy (channels answer HTTP 429 with <c>Retry-After</c> or a polite message),
/// or the prompt cannot fit the model's context window.
/// </summary>
public sealed class ChatRejectedException(ChatError error, TimeSpan? retryAfter = null) : Exception(error.Message)
{
    public ChatError Error { get; } = error;
    public TimeSpan? RetryAfter { get; } = retryAfter;

    public static ChatRejectedException Busy(string message, TimeSpan retryAfter) =>
        new(new ChatError(ChatErrorKind.Busy, "busy", message), retryAfter);
}
