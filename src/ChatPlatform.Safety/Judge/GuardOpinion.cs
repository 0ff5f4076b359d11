using System.Text.RegularExpressions;

namespace ChatPlatform.Safety.Judge;

/// <summary>
/// What a guard model said about one message. Reads the two common output formats: Qwen3Guard
/// (<c>Safety: Unsafe</c> / <c>Categories: Suicide &amp; Self-Harm</c>) and Llama Guard 3/4 (<c>unsafe</c> / <c>S11</c>).
/// </summary>
public sealed partial record GuardOpinion(bool Unsafe, IReadOnlyList<string> Categories)
{
    /// <summary>Llama Guard's hazard code for suicide and self-harm.</summary>
    private const string LlamaGuardSelfHarm = "S11";

    /// <summary>The guard flags suicide or self-harm (Qwen3Guard's "Controversial" counts: a referral errs on the side of care).</summary>
    public bool SelfHarm => Categories.Any(c => c.Equals(LlamaGuardSelfHarm, StringComparison.OrdinalIgnoreCase)
        || c.Contains("self-harm", StringComparison.OrdinalIgnoreCase) || c.Contains("suicide", StringComparison.OrdinalIgnoreCase));

    /// <summary>The guard flags an attempt to break the assistant's rules (Qwen3Guard's Jailbreak category).</summary>
    public bool Jailbreak => Unsafe && Categories.Any(c => c.Contains("jailbreak", StringComparison.OrdinalIgnoreCase));

    /// <summary>The opinion in <paramref name="output"/>, or null when it is in neither format (no opinion).</summary>
    public static GuardOpinion? Parse(string? output)
    {
        if (string.IsNullOrWhiteSpace(output)) return null;
        var text = output.Trim();

        if (QwenSafety().Match(text) is { Success: true } qwen)
        {
            var level = qwen.Groups[1].Value;
            var categories = QwenCategories().Match(text) is { Success: true } c
                ? c.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Where(x => !x.Equals("None", StringComparison.OrdinalIgnoreCase)).ToList()
                : [];
            return new GuardOpinion(!level.Equals("Safe", StringComparison.OrdinalIgnoreCase), categories);
        }

        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines[0].Equals("safe", StringComparison.OrdinalIgnoreCase))
            return new GuardOpinion(false, []);
        if (lines[0].Equals("unsafe", StringComparison.OrdinalIgnoreCase))
        {
            var codes = lines.Length > 1
                ? lines[1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(x => LlamaGuardCode().IsMatch(x)).ToList()
                : [];
            return new GuardOpinion(true, codes);
        }
        return null;
    }

    [GeneratedRegex(@"^\s*Safety:\s*(Safe|Unsafe|Controversial)\b", RegexOptions.IgnoreCase | RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex QwenSafety();

    [GeneratedRegex(@"^\s*Categories:\s*(.+)$", RegexOptions.IgnoreCase | RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex QwenCategories();

    [GeneratedRegex(@"^S\d{1,2}$", RegexOptions.CultureInvariant)]
    private static partial Regex LlamaGuardCode();
}
