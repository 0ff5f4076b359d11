using System.Text.Json;
using ChatPlatform.Core.Personas;
using ChatPlatform.Safety.Detection;
using ChatPlatform.Safety.Pii;
using ChatPlatform.Safety.Text;

namespace ChatPlatform.Safety.Rails;

/// <summary>The families the input rails detect, with the labels <c>safety eval</c> reads.</summary>
public static class SafetyFamilies
{
    public const string Crisis = "crisis";
    public const string Medical = "medical";
    public const string Injection = "injection";
    public const string Pii = "pii";

    public static readonly IReadOnlyList<string> All = [Crisis, Medical, Injection, Pii];

    /// <summary>(family, positive?) for an evaluation label; null for an unknown label.</summary>
    public static (string Family, bool Positive)? FromLabel(string label) => label switch
    {
        "crisis" => (Crisis, true),
        "not_crisis" => (Crisis, false),
        "medical_emergency" => (Medical, true),
        "medical_ordinary" => (Medical, false),
        "injection" => (Injection, true),
        "benign" => (Injection, false),
        "pii" => (Pii, true),
        "no_pii" => (Pii, false),
        _ => null,
    };
}

/// <summary>A fixed reply written by people, per locale, with an optional short reminder.</summary>
public sealed record FixedReply(string Text, string? Reminder);

/// <summary>
/// Everything the rails load from <c>safety/</c>: the normaliser's character map, the lexicons, the written
/// crisis and emergency replies, and the n-gram classifiers trained from <c>safety/examples/*.jsonl</c>.
/// Loaded once and shared; all members are thread-safe for reading.
/// </summary>
public sealed class SafetyRules
{
    /// <summary>
    /// Classifier score above which a family fires when no lexicon cue decided. Chosen on phrasings written after the
    /// lexicons (safety/eval/unseen.jsonl): recall matters most for crisis, so its threshold is the lowest.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, float> DefaultThresholds = new Dictionary<string, float>
    {
        [SafetyFamilies.Crisis] = SafetyPolicy.MaxCrisisThreshold,
        [SafetyFamilies.Medical] = 0.5f,
        [SafetyFamilies.Injection] = 0.95f,
    };

    public required TextNormalizer Normalizer { get; init; }
    public required Detector Crisis { get; init; }
    public required Detector Medical { get; init; }
    public required Detector Injection { get; init; }
    public required Lexicon Scope { get; init; }
    public PiiRedactor Pii { get; } = PiiRedactor.Instance;
    public required IReadOnlyDictionary<string, FixedReply> CrisisReplies { get; init; }
    public required IReadOnlyDictionary<string, FixedReply> EmergencyReplies { get; init; }
    public required IReadOnlyDictionary<string, string> Refusals { get; init; }
    public IReadOnlyDictionary<string, float> Thresholds { get; init; } = DefaultThresholds;

    /// <summary>Loads <paramref name="directory"/> (the repository's <c>safety/</c>); a missing or bad file names itself.</summary>
    public static SafetyRules Load(string directory)
    {
        var root = Path.GetFullPath(directory);
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"Safety folder '{directory}' not found (resolved to {root}); set ChatPlatform:SafetyDirectory.");
        var lexicons = Path.Combine(root, "lexicons");
        var normalizer = TextNormalizer.Load(Path.Combine(lexicons, "t2s.txt"));
        var examples = LoadExamples(Path.Combine(root, "examples"), normalizer);

        Detector Build(string family, string positiveLabel) => new(family,
            Lexicon.Load(Path.Combine(lexicons, family + ".txt")),
            NgramClassifier.Train(examples.Select(e => (e.Normalized, e.Label == positiveLabel)).ToList()));

        return new SafetyRules
        {
            Normalizer = normalizer,
            Crisis = Build(SafetyFamilies.Crisis, "crisis"),
            Medical = Build(SafetyFamilies.Medical, "medical_emergency"),
            Injection = Build(SafetyFamilies.Injection, "injection"),
            Scope = Lexicon.Load(Path.Combine(lexicons, "scope.txt")),
            CrisisReplies = LoadReplies(Path.Combine(root, "crisis")),
            EmergencyReplies = LoadReplies(Path.Combine(root, "emergency")),
            Refusals = LoadReplies(Path.Combine(root, "refusal")).ToDictionary(r => r.Key, r => r.Value.Text),
        };
    }

    public float ThresholdFor(string family) => Thresholds.GetValueOrDefault(family, 0.5f);

    public static FixedReply ReplyFor(IReadOnlyDictionary<string, FixedReply> replies, string locale)
    {
        var key = Locales.Resolve(locale, [.. replies.Keys.OrderBy(k => k == "en" ? 0 : 1)]);
        return replies[key];
    }

    private static List<(string Normalized, string Label)> LoadExamples(string directory, TextNormalizer normalizer)
    {
        var result = new List<(string, string)>();
        if (!Directory.Exists(directory)) return result;
        foreach (var file in Directory.EnumerateFiles(directory, "*.jsonl").Order(StringComparer.Ordinal))
        {
            var number = 0;
            foreach (var line in File.ReadLines(file))
            {
                number++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    var text = doc.RootElement.GetProperty("text").GetString() ?? "";
                    var label = doc.RootElement.GetProperty("label").GetString() ?? "";
                    result.Add((normalizer.Normalize(text), label));
                }
                catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
                {
                    throw new FormatException($"{file}:{number}: expected a JSON object with 'text' and 'label' ({e.Message})", e);
                }
            }
        }
        return result;
    }

    /// <summary>Reads <c>{locale}.md</c> files: optional front matter between <c>---</c> lines (a <c>reminder:</c> key is kept), then the reply.</summary>
    private static Dictionary<string, FixedReply> LoadReplies(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"Safety replies folder '{directory}' not found.");
        var replies = new Dictionary<string, FixedReply>(StringComparer.OrdinalIgnoreCase);
        foreach (var file in Directory.EnumerateFiles(directory, "*.md"))
        {
            var lines = File.ReadAllLines(file);
            string? reminder = null;
            var start = 0;
            if (lines.Length > 0 && lines[0].Trim() == "---")
            {
                var end = Array.FindIndex(lines, 1, l => l.Trim() == "---");
                if (end < 0) throw new FormatException($"{file}: front matter is not closed with '---'");
                foreach (var l in lines[1..end])
                    if (l.StartsWith("reminder:", StringComparison.Ordinal))
                        reminder = l["reminder:".Length..].Trim().Trim('"');
                start = end + 1;
            }
            var text = string.Join('\n', lines[start..]).Trim();
            if (text.Length == 0) throw new FormatException($"{file}: the reply is empty");
            replies[Path.GetFileNameWithoutExtension(file)] = new FixedReply(text, reminder);
        }
        if (!replies.ContainsKey("en"))
            throw new FormatException($"{directory}: an en.md reply is required as the fallback locale");
        return replies;
    }
}
