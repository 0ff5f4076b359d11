namespace ChatPlatform.Core.Chat;

/// <summary>
/// Raised by an inference backend before a reply starts when it will not produce one:
/// the core is busy (channels answer HTTP 429 with <c>Retry-After</c> or a polite message),
/// or the prompt cannot fit the model's context window.
/// </summary>
/// <remarks>
/// <see cref="Error"/> is what the user is told (a code and a plain sentence); <see cref="Exception.Message"/> is the
/// operator's detail when the backend gave one (which server, what it answered), for logs only.
/// </remarks>
public sealed class ChatRejectedException(ChatError error, TimeSpan? retryAfter = null, string? detail = null) : Exception(detail ?? error.Message)
{
    public ChatError Error { get; } = error;
    public TimeSpan? RetryAfter { get; } = retryAfter;

    public static ChatRejectedException Busy(string message, TimeSpan retryAfter, string? detail = null) =>
        new(new ChatError(ChatErrorKind.Busy, "busy", message), retryAfter, detail);
}
