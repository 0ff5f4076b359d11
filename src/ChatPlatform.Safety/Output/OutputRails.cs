using ChatPlatform.Safety.Detection;
using ChatPlatform.Safety.Rails;

namespace ChatPlatform.Safety.Output;

/// <summary>Why a sentence of a reply was blocked.</summary>
public enum OutputBlock
{
    None,
    /// <summary>Self-harm method details, prescriptions beyond label information, or a diagnosis stated as fact.</summary>
    HarmfulContent,
    /// <summary>A long piece of the system prompt.</summary>
    PromptLeak,
    /// <summary>Personal data (not a crisis or emergency line the platform itself publishes).</summary>
    PiiEcho,
}

/// <summary>
/// The output rails' rules, tested alone: each sentence is checked against the output lexicon
/// (<c>safety/lexicons/output.txt</c>), against the system prompt, and for personal data.
/// </summary>
public sealed class OutputRails(SafetyRules rules, Lexicon lexicon)
{
    /// <summary>A run of this many normalised characters shared with the system prompt counts as leakage.</summary>
    public const int LeakWindow = 40;

    private readonly HashSet<string> _publishedNumbers = PublishedNumbers(rules);

    public SafetyRules Rules { get; } = rules;

    public static OutputRails Load(SafetyRules rules, string safetyDirectory) =>
        new(rules, Lexicon.Load(Path.Combine(safetyDirectory, "lexicons", "output.txt")));

    /// <param name="sentence">Text about to be shown.</param>
    /// <param name="normalizedSystemPrompt">The system prompt after <see cref="Text.TextNormalizer.Normalize"/>, or null.</param>
    public OutputBlock Check(string sentence, string? normalizedSystemPrompt)
    {
        var normalized = Rules.Normalizer.Normalize(sentence);
        if (lexicon.Match(normalized) is LexiconMatch.Strong or LexiconMatch.Weak) return OutputBlock.HarmfulContent;
        if (normalizedSystemPrompt is { Length: >= LeakWindow } && Leaks(normalized, normalizedSystemPrompt)) return OutputBlock.PromptLeak;
        foreach (var match in Rules.Pii.Find(sentence))
        {
            var digits = new string(sentence.AsSpan(match.Index, match.Length).ToArray().Where(char.IsAsciiDigit).ToArray());
            if (digits.Length == 0 || !_publishedNumbers.Contains(digits)) return OutputBlock.PiiEcho;
        }
        return OutputBlock.None;
    }

    private static bool Leaks(string normalized, string prompt)
    {
        for (var i = 0; i + LeakWindow <= normalized.Length; i += 4)
            if (prompt.Contains(normalized.AsSpan(i, LeakWindow), StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>Hotlines and emergency numbers the platform's own replies name may always be shown.</summary>
    private static HashSet<string> PublishedNumbers(SafetyRules rules)
    {
        var numbers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var reply in rules.CrisisReplies.Values.Concat(rules.EmergencyReplies.Values))
            foreach (var text in new[] { reply.Text, reply.Reminder ?? "" })
                foreach (var match in rules.Pii.Find(text))
                    numbers.Add(new string(text.AsSpan(match.Index, match.Length).ToArray().Where(char.IsAsciiDigit).ToArray()));
        return numbers;
    }
}
