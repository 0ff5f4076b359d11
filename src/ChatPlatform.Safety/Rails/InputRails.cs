using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using ChatPlatform.Safety.Detection;

namespace ChatPlatform.Safety.Rails;

/// <summary>What every family saw in one message, independent of any persona (used by the evaluation).</summary>
public sealed record RailFindings(DetectionResult Crisis, DetectionResult Medical, DetectionResult Injection, DetectionResult Harmful, bool Pii, bool OutOfScope)
{
    public bool Fired(string family) => For(family).Fired;

    /// <summary>The finding of one family (PII, found by patterns, reports as a strong match or none).</summary>
    public DetectionResult For(string family) => family switch
    {
        SafetyFamilies.Crisis => Crisis,
        SafetyFamilies.Medical => Medical,
        SafetyFamilies.Injection => Injection,
        SafetyFamilies.Harmful => Harmful,
        SafetyFamilies.Pii => new DetectionResult(Pii, Pii ? LexiconMatch.Strong : LexiconMatch.None, Pii ? 1f : 0f),
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, "unknown family"),
    };
}

/// <summary>
/// The input rails as the orchestrator runs them: crisis (always, whatever the pack lists), then the pack's medical
/// emergency, harmful-request, injection and scope rails; PII is redacted from the text that goes on when the pack
/// says so. None of them calls the model.
/// </summary>
public sealed class InputRails(SafetyRules rules) : IInputSafety
{
    public SafetyRules Rules { get; } = rules;

    /// <summary>Runs every family on the text, with the thresholds of <paramref name="pack"/> where it sets them.</summary>
    public RailFindings Inspect(string text, PersonaPack? pack = null)
    {
        return Inspect(Rules.Analyze(text), text, pack);
    }

    /// <summary>Runs every family on an analysed message (its embedding may be computed already).</summary>
    public RailFindings Inspect(MessageAnalysis message, string text, PersonaPack? pack = null)
    {
        return new RailFindings(
            Rules.Crisis.Detect(message, ThresholdFor(pack, SafetyFamilies.Crisis)),
            Rules.Medical.Detect(message, ThresholdFor(pack, SafetyFamilies.Medical)),
            Rules.Injection.Detect(message, ThresholdFor(pack, SafetyFamilies.Injection)),
            Rules.Harmful.Detect(message, ThresholdFor(pack, SafetyFamilies.Harmful)),
            Rules.Pii.Contains(text),
            Rules.Scope.Match(message.Normalized) is LexiconMatch.Strong or LexiconMatch.Weak);
    }

    public string RedactForStorage(PersonaPack pack, string text) =>
        pack.Safety.RedactPii || pack.Safety.Rails.Contains(SafetyRails.Pii) ? Rules.Pii.Redact(text) : text;

    public InputVerdict Check(PersonaPack pack, string text, string locale)
    {
        var policy = pack.Safety;
        var outgoing = RedactForStorage(pack, text);
        var message = Rules.Analyze(text);

        // The crisis rail is mandatory for every pack (the pack loader refuses to turn it off).
        var crisis = Rules.Crisis.Detect(message, ThresholdFor(pack, SafetyFamilies.Crisis));
        if (crisis.Fired)
            return CrisisVerdict(pack, outgoing, locale, crisis.Score);

        if (policy.Rails.Contains(SafetyRails.MedicalEmergency)
            && Rules.Medical.Detect(message, ThresholdFor(pack, SafetyFamilies.Medical)) is { Fired: true } medical)
            return new InputVerdict(InputAction.MedicalEmergency, outgoing, SafetyRules.ReplyFor(Rules.EmergencyReplies, locale).Text, SafetyRails.MedicalEmergency, medical.Score);

        if (policy.Rails.Contains(SafetyRails.Harmful)
            && Rules.Harmful.Detect(message, ThresholdFor(pack, SafetyFamilies.Harmful)) is { Fired: true } harmful)
            return HarmfulVerdict(pack, outgoing, locale, harmful.Score);

        if (policy.Rails.Contains(SafetyRails.Injection)
            && Rules.Injection.Detect(message, ThresholdFor(pack, SafetyFamilies.Injection)) is { Fired: true } injection)
            return InjectionVerdict(pack, outgoing, locale, injection.Score);

        if (policy.Rails.Contains(SafetyRails.Scope) && pack.OutOfScopeFor(locale) is { } outOfScope
            && Rules.Scope.Match(message.Normalized) is LexiconMatch.Strong or LexiconMatch.Weak)
            return new InputVerdict(InputAction.OutOfScope, outgoing, outOfScope, SafetyRails.Scope);

        return new InputVerdict(InputAction.Allow, outgoing);
    }

    /// <summary>
    /// The crisis protocol's verdict: the human-written referral for the locale, the pack's own where its safety.yaml
    /// sets one (<c>crisis.resources</c>), else the shared one from the safety folder.
    /// </summary>
    public InputVerdict CrisisVerdict(PersonaPack? pack, string outgoing, string locale, double score) =>
        new(InputAction.Crisis, outgoing, CrisisReplyFor(pack, locale).Text, SafetyRails.Crisis, score);

    /// <summary>The crisis reply for a conversation of <paramref name="pack"/>: its own for the locale, else the shared one.</summary>
    public FixedReply CrisisReplyFor(PersonaPack? pack, string locale) =>
        pack?.CrisisResourcesFor(locale) is { } own
            // A pack's text has no separate reminder: later turns repeat the whole referral, so it never points elsewhere.
            ? new FixedReply(own, null)
            : SafetyRules.ReplyFor(Rules.CrisisReplies, locale);

    public string SharedCrisisReplyFor(string locale) => SafetyRules.ReplyFor(Rules.CrisisReplies, locale).Text;

    /// <summary>The injection rail's verdict: the fixed refusal, then the pack's way back to its domain.</summary>
    public InputVerdict InjectionVerdict(PersonaPack pack, string outgoing, string locale, double score) =>
        new(InputAction.Refuse, outgoing, RefusalFor(Rules.Refusals, pack, locale), SafetyRails.Injection, score);

    /// <summary>The harmful-request rail's verdict: the fixed refusal for harm, then the pack's way back to its domain.</summary>
    public InputVerdict HarmfulVerdict(PersonaPack pack, string outgoing, string locale, double score) =>
        new(InputAction.Refuse, outgoing, RefusalFor(Rules.HarmfulRefusals, pack, locale), SafetyRails.Harmful, score);

    /// <summary>The pack's threshold for a family where its safety.yaml sets one, else the platform default.</summary>
    public float ThresholdFor(PersonaPack? pack, string family)
    {
        var rail = family switch
        {
            SafetyFamilies.Crisis => SafetyRails.Crisis,
            SafetyFamilies.Medical => SafetyRails.MedicalEmergency,
            SafetyFamilies.Injection => SafetyRails.Injection,
            SafetyFamilies.Harmful => SafetyRails.Harmful,
            _ => family,
        };
        return pack is not null && pack.Safety.Thresholds.TryGetValue(rail, out var own) ? own : Rules.ThresholdFor(family);
    }

    public string CrisisReminderFor(PersonaPack pack, string locale)
    {
        var reply = CrisisReplyFor(pack, locale);
        return reply.Reminder ?? reply.Text;
    }

    private static string RefusalFor(IReadOnlyDictionary<string, string> refusals, PersonaPack pack, string locale)
    {
        var refusal = refusals.GetValueOrDefault(Locales.Resolve(locale, [.. refusals.Keys.OrderBy(k => k == "en" ? 0 : 1)]), "");
        return pack.OutOfScopeFor(locale) is { } back ? refusal + " " + back : refusal;
    }
}
