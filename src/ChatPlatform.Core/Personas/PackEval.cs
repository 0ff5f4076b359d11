namespace ChatPlatform.Core.Personas;

/// <summary>
/// One conversation from a pack's <c>evals/*.jsonl</c>: the pack must pass it before it can be activated.
/// The expectation applies to the reply to the last turn, which is always a user turn.
/// </summary>
/// <param name="Id">Unique within the pack.</param>
/// <param name="File">Absolute path of the .jsonl file.</param>
/// <param name="Line">1-based line of the case in <paramref name="File"/>.</param>
public sealed record PackEval(
    string Id,
    string Locale,
    IReadOnlyList<EvalTurn> Turns,
    EvalExpectation Expect,
    string? Note,
    string File,
    int Line);

/// <summary>A turn of an eval conversation; <see cref="Role"/> is <c>user</c> or <c>assistant</c>.</summary>
public sealed record EvalTurn(string Role, string Text)
{
    public const string User = "user";
    public const string Assistant = "assistant";
}

/// <summary>
/// What the reply must satisfy; every condition that is set must hold.
/// </summary>
public sealed record EvalExpectation
{
    /// <summary>
    /// The safety rail that must answer the turn (one of <see cref="SafetyRails.Known"/>), or
    /// <see cref="NoRail"/> when no rail may fire (the model must answer); null when not checked.
    /// </summary>
    public string? Rail { get; init; }

    /// <summary>The reply must contain at least one of these (case-insensitive); empty when not checked.</summary>
    public IReadOnlyList<string> ContainsAny { get; init; } = [];

    /// <summary>The reply must contain none of these (case-insensitive).</summary>
    public IReadOnlyList<string> NotContains { get; init; } = [];

    /// <summary>Value of <see cref="Rail"/> meaning "no rail may fire": guards against false alarms.</summary>
    public const string NoRail = "none";
}
