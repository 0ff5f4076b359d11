namespace ChatPlatform.Core.Chat;

/// <summary>One user message arriving from any channel.</summary>
public sealed record ChatTurn(
    string Persona,
    string ConversationId,
    string Text,
    string? Locale = null,
    string Channel = "web",
    string? UserId = null)
{
    /// <summary>
    /// Whether the turn may start the conversation, continue it, or both. A channel whose clients name conversations
    /// themselves uses <see cref="ConversationAccess.New"/> and <see cref="ConversationAccess.Existing"/> so that
    /// nobody continues a conversation they did not start.
    /// </summary>
    public ConversationAccess Access { get; init; } = ConversationAccess.OpenOrCreate;

    /// <summary>
    /// Set when the channel stored the user's message itself when it arrived, at this position (Direct Line shows the
    /// message to every node at once, before it is answered). The turn then does not store it again, and its history
    /// is what came before it plus the replies stored since.
    /// </summary>
    public int? StoredSequence { get; init; }
}

/// <summary>How a turn may reach its conversation.</summary>
public enum ConversationAccess
{
    /// <summary>Continue the conversation, creating it on first use (channels that already scope their ids).</summary>
    OpenOrCreate,
    /// <summary>Start a new conversation; an id that is already stored is refused as not found.</summary>
    New,
    /// <summary>Continue a stored conversation of the same persona; anything else is refused as not found.</summary>
    Existing,
}

/// <summary>Why a turn was refused before any work started. Channels map <see cref="Kind"/> to their own status codes.</summary>
public sealed record ChatError(ChatErrorKind Kind, string Code, string Message)
{
    /// <summary>The same message may succeed a little later (busy core, stopping server): chats give the busy answer.</summary>
    public bool TryLater => Kind is ChatErrorKind.Busy or ChatErrorKind.Unavailable;
}

public enum ChatErrorKind
{
    /// <summary>The request itself is malformed (empty text, bad id).</summary>
    Invalid,
    /// <summary>The persona does not exist, or the conversation is not one the caller may continue.</summary>
    NotFound,
    /// <summary>The message is longer than allowed.</summary>
    TooLarge,
    /// <summary>The conversation exists with other settings (another persona).</summary>
    Conflict,
    /// <summary>The inference core is at capacity; try again later.</summary>
    Busy,
    /// <summary>A remote inference server failed, timed out or refused the request before the reply started.</summary>
    Upstream,
    /// <summary>The server is stopping and takes no new turns; another node, or this one after its restart, will.</summary>
    Unavailable,
}

/// <summary>What a channel receives while a reply is produced.</summary>
public abstract record ChatEvent;

/// <summary>A piece of the reply's text, in order.</summary>
public sealed record ChatDelta(string Text) : ChatEvent;

/// <summary>
/// The reply is complete and stored. <see cref="Citations"/> lists the sources the reply was grounded in
/// (numbered as the reply cites them); channels render them in their own way.
/// </summary>
public sealed record ChatCompleted(
    string ConversationId,
    string Persona,
    string Locale,
    string Text,
    string FinishReason,
    int? OutputTokens,
    double ElapsedMs) : ChatEvent
{
    public IReadOnlyList<Knowledge.Citation> Citations { get; init; } = [];

    /// <summary>The stored reply's position in the conversation (<see cref="StoredMessage.Sequence"/>).</summary>
    public int? Sequence { get; init; }
}

/// <summary>The reply failed after it started; the message is safe to show to the user.</summary>
public sealed record ChatFailed(ChatError Error) : ChatEvent
{
    /// <summary>Where the text produced before the failure was stored; null when nothing was.</summary>
    public int? Sequence { get; init; }
}
