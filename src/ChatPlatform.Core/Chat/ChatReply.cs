using System.Text;
using ChatPlatform.Core.Knowledge;

namespace ChatPlatform.Core.Chat;

/// <summary>A reply's text as it streams in; <see cref="ToString"/> copies it, so callers read it only when they need it.</summary>
public sealed class StreamedText
{
    private readonly StringBuilder _text = new();

    public int Length => _text.Length;

    internal void Append(string text) => _text.Append(text);

    public override string ToString() => _text.ToString();
}

/// <summary>
/// What a turn's events came to: the text as it streamed, and the completion (stored text, sources, finish reason,
/// tokens) or the failure that ended it. Neither when the events ended without one (the reader was cancelled).
/// Channels that collect a reply read it with <see cref="ReadAsync"/>, so they agree on what the reply was.
/// </summary>
public sealed record ChatReply(string Streamed, ChatCompleted? Completed, ChatFailed? Failed)
{
    /// <summary>
    /// Reads <paramref name="events"/> to the end. <paramref name="onDelta"/> runs after each piece of text, with
    /// everything streamed so far (a channel that updates a message as the reply grows).
    /// </summary>
    public static async Task<ChatReply> ReadAsync(IAsyncEnumerable<ChatEvent> events, Func<StreamedText, Task>? onDelta = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        var streamed = new StreamedText();
        ChatCompleted? completed = null;
        ChatFailed? failed = null;
        await foreach (var e in events.WithCancellation(cancellationToken))
        {
            switch (e)
            {
                case ChatDelta delta:
                    streamed.Append(delta.Text);
                    if (onDelta is not null) await onDelta(streamed);
                    break;
                case ChatCompleted c:
                    completed = c;
                    break;
                case ChatFailed f:
                    failed = f;
                    break;
            }
        }
        return new ChatReply(streamed.ToString(), completed, failed);
    }

    /// <summary>
    /// The message a channel shows in the end: the completed reply with its sources as a footer in
    /// <paramref name="markup"/>, or what streamed before a failure with the failure's message after it. Empty when
    /// nothing came.
    /// </summary>
    public string Message(CitationMarkup markup)
    {
        if (Completed is { } completed)
            return completed.Text + CitationFooter.Format(completed.Citations, markup);
        if (Failed is { } failed)
            return Streamed.Length > 0 ? Streamed + "\n\n" + failed.Error.Message : failed.Error.Message;
        return Streamed;
    }
}
