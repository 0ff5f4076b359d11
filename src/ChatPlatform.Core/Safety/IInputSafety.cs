using ChatPlatform.Core.Personas;

namespace ChatPlatform.Core.Safety;

/// <summary>What the input rails decided about one user message.</summary>
public enum InputAction
{
    /// <summary>The message goes to the model (possibly redacted).</summary>
    Allow,
    /// <summary>Crisis protocol: the human-written referral is sent, no model call.</summary>
    Crisis,
    /// <summary>Emergency care referral, no model call.</summary>
    MedicalEmergency,
    /// <summary>Prompt injection or a harmful request: a fixed refusal, no model call.</summary>
    Refuse,
    /// <summary>Outside the persona's domain: the pack's out-of-scope reply, no model call.</summary>
    OutOfScope,
}

/// <summary>
/// The outcome of the input rails. <see cref="Text"/> is the message as it may go on (to the model, the store, logs):
/// redacted when the persona's policy asks. <see cref="Reply"/> is the fixed answer when the rails answer by themselves.
/// </summary>
public sealed record InputVerdict(InputAction Action, string Text, string? Reply = null, string? Rail = null, double Score = 0)
{
    public bool AnswersItself => Action != InputAction.Allow;

    public SafetySeverity Severity => Action switch
    {
        InputAction.Crisis or InputAction.MedicalEmergency => SafetySeverity.High,
        InputAction.Refuse => SafetySeverity.Medium,
        _ => SafetySeverity.Low,
    };
}

/// <summary>The input rails: run on every user message before any model call.</summary>
public interface IInputSafety
{
    InputVerdict Check(PersonaPack pack, string text, string locale);

    /// <summary>
    /// <see cref="Check"/> where a second opinion (a guard model) may be asked; the orchestrator calls this one.
    /// </summary>
    ValueTask<InputVerdict> CheckAsync(PersonaPack pack, string text, string locale, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Check(pack, text, locale));

    /// <summary>
    /// A short reminder of crisis resources for a conversation of <paramref name="pack"/> in a locale, shown under every
    /// later reply of a conversation that went through the crisis protocol (the pack's own resources where it sets them).
    /// </summary>
    string CrisisReminderFor(PersonaPack pack, string locale);

    /// <summary>The shared crisis reply for a locale, which applies wherever a pack sets none of its own.</summary>
    string SharedCrisisReplyFor(string locale);

    /// <summary>
    /// The text as it may be stored for <paramref name="pack"/>: personal data replaced (<c>[EMAIL]</c>, <c>[PHONE]</c>…)
    /// where the pack redacts it, as <see cref="Check"/> does. For a channel that stores a message before its turn runs.
    /// </summary>
    string RedactForStorage(PersonaPack pack, string text);
}

/// <summary>Flags a conversation can carry.</summary>
public static class ConversationFlags
{
    /// <summary>The crisis protocol ran: supportive mode and visible resources from then on.</summary>
    public const string Crisis = "crisis";
}
