using ChatPlatform.Core.Personas;
using ChatPlatform.Safety.Detection;
using ChatPlatform.Safety.Pii;
using ChatPlatform.Safety.Training;
using ChatPlatform.Safety.Text;

namespace ChatPlatform.Safety.Rails;

/// <summary>The families the input rails detect, with the labels <c>safety eval</c> and <c>safety train</c> read.</summary>
public static class SafetyFamilies
{
    public const string Crisis = "crisis";
    public const string Medical = "medical";
    public const string Injection = "injection";
    public const string Harmful = "harmful";
    public const string Pii = "pii";

    public static readonly IReadOnlyList<string> All = [Crisis, Medical, Injection, Harmful, Pii];

    /// <summary>The families with a trained classifier (PII is found by patterns and checksums).</summary>
    public static readonly IReadOnlyList<string> Classified = [Crisis, Medical, Injection, Harmful];

    /// <summary>Every label a line may carry.</summary>
    public static readonly IReadOnlyList<string> Labels =
        ["crisis", "not_crisis", "medical_emergency", "medical_ordinary", "injection", "benign", "harmful", "not_harmful", "pii", "no_pii"];

    /// <summary>
    /// (family, positive?) for an evaluation label; null for an unknown label. An <c>injection</c> line of category
    /// <c>harmful_request</c> (a direct request for harm, as the shared development split labels them) belongs to
    /// the harmful family: injection means instructions that try to take over the persona.
    /// </summary>
    public static (string Family, bool Positive)? FromLabel(string label, string? category = null) => label switch
    {
        "crisis" => (Crisis, true),
        "not_crisis" => (Crisis, false),
        "medical_emergency" => (Medical, true),
        "medical_ordinary" => (Medical, false),
        "injection" when category == "harmful_request" => (Harmful, true),
        "injection" => (Injection, true),
        "benign" => (Injection, false),
        "harmful" => (Harmful, true),
        "not_harmful" => (Harmful, false),
        "pii" => (Pii, true),
        "no_pii" => (Pii, false),
        _ => null,
    };
}

/// <summary>A fixed reply written by people, per locale, with an optional short reminder.</summary>
public sealed record FixedReply(string Text, string? Reminder);

/// <summary>
/// Everything the rails load from <c>safety/</c>: the normaliser's character map, the lexicons, the written
/// crisis, emergency and refusal replies, and the trained classifiers of <see cref="WeightsFile"/>.
/// Loaded once and shared; all members are thread-safe for reading.
/// </summary>
public sealed class SafetyRules
{
    /// <summary>The weights file under the safety folder, written by <c>chatplatform safety train</c>.</summary>
    public const string WeightsFile = "weights/rails.bin";

    /// <summary>
    /// Classifier score above which a family fires when no lexicon cue decided. The scores are calibrated on sources
    /// the pieces were not trained on (see <see cref="Training.SafetyTrainer"/>); the values were chosen from the
    /// threshold sweep of <c>safety eval --cross-source</c>: recall first for crisis (whose threshold a pack may only
    /// lower), few false alarms for the rails that refuse. Medical emergencies: at 0.70 the pooled English recall was
    /// 0.82 at FPR 0.018, at 0.75 0.74 at 0.015; at 0.65 it was 0.88, but the rail also fired on one in twenty of the
    /// other families' English lines, grief and worry among them ("My aunt died in spring and the house feels empty").
    /// </summary>
    public static readonly IReadOnlyDictionary<string, float> DefaultThresholds = new Dictionary<string, float>
    {
        [SafetyFamilies.Crisis] = SafetyPolicy.MaxCrisisThreshold,
        [SafetyFamilies.Medical] = 0.7f,
        [SafetyFamilies.Injection] = 0.6f,
        [SafetyFamilies.Harmful] = 0.7f,
    };

    public required TextNormalizer Normalizer { get; init; }
    public required SafetyModel Model { get; init; }
    public required Detector Crisis { get; init; }
    public required Detector Medical { get; init; }
    public required Detector Injection { get; init; }
    public required Detector Harmful { get; init; }
    public required Lexicon Scope { get; init; }
    public PiiRedactor Pii { get; } = PiiRedactor.Instance;
    public required IReadOnlyDictionary<string, FixedReply> CrisisReplies { get; init; }
    public required IReadOnlyDictionary<string, FixedReply> EmergencyReplies { get; init; }
    public required IReadOnlyDictionary<string, string> Refusals { get; init; }
    public required IReadOnlyDictionary<string, string> HarmfulRefusals { get; init; }
    public IReadOnlyDictionary<string, float> Thresholds { get; init; } = DefaultThresholds;

    /// <summary>
    /// Loads <paramref name="directory"/> (the repository's <c>safety/</c>); a missing or bad file names itself.
    /// <paramref name="model"/> replaces the weights file (training and cross-source evaluation pass their own).
    /// Without <paramref name="embeddings"/>, or when the sentence embedder cannot load, the classifiers run on
    /// n-grams and cues alone.
    /// </summary>
    public static SafetyRules Load(string directory, SafetyModel? model = null, bool embeddings = true)
    {
        var root = Path.GetFullPath(directory);
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"Safety folder '{directory}' not found (resolved to {root}); set ChatPlatform:SafetyDirectory.");
        var lexicons = Path.Combine(root, "lexicons");
        var normalizer = TextNormalizer.Load(Path.Combine(lexicons, "t2s.txt"));
        model ??= LoadModel(root, embeddings);

        var familyLexicons = LoadLexicons(root);
        Detector Build(string family) => new(family, familyLexicons[family], model.Families.GetValueOrDefault(family), WeighsWeakCues(family));

        return new SafetyRules
        {
            Normalizer = normalizer,
            Model = model,
            Crisis = Build(SafetyFamilies.Crisis),
            Medical = Build(SafetyFamilies.Medical),
            Injection = Build(SafetyFamilies.Injection),
            Harmful = Build(SafetyFamilies.Harmful),
            Scope = Lexicon.Load(Path.Combine(lexicons, "scope.txt")),
            CrisisReplies = LoadReplies(Path.Combine(root, "crisis")),
            EmergencyReplies = LoadReplies(Path.Combine(root, "emergency")),
            Refusals = LoadReplies(Path.Combine(root, "refusal")).ToDictionary(r => r.Key, r => r.Value.Text),
            HarmfulRefusals = LoadReplies(Path.Combine(root, "harmful")).ToDictionary(r => r.Key, r => r.Value.Text),
        };
    }

    /// <summary>The lexicon of each classified family, from <c>lexicons/FAMILY.txt</c> under the safety folder.</summary>
    public static IReadOnlyDictionary<string, Lexicon> LoadLexicons(string directory) =>
        SafetyFamilies.Classified.ToDictionary(f => f, f => Lexicon.Load(Path.Combine(directory, "lexicons", f + ".txt")), StringComparer.Ordinal);

    /// <summary>
    /// Whether a family's classifier weighs its weak lexicon cues instead of letting them fire (see <see cref="Detector"/>
    /// for where it still lets them fire). Only crisis: its topic words are as common in questions and in worry about
    /// someone else as in a person's own crisis. Measured with <c>safety eval --cross-source</c> (README, Safety):
    /// weighing them cut the crisis false-positive rate in both languages, but cost the harmful and medical rails recall.
    /// </summary>
    public static bool WeighsWeakCues(string family) => family == SafetyFamilies.Crisis;

    /// <summary>Reads <see cref="WeightsFile"/> under <paramref name="root"/>, with the shared sentence embedder when asked for.</summary>
    public static SafetyModel LoadModel(string root, bool embeddings = true)
    {
        var path = Path.Combine(root, WeightsFile);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Safety weights '{path}' not found; run 'chatplatform safety train --corpus DIR... --out {path}'.", path);
        string? error = "turned off";
        var embedder = embeddings ? MiniLmEmbedder.Shared(out error) : null;
        return SafetyModel.Load(path, embedder, error);
    }

    /// <summary>What the classifiers see of <paramref name="text"/>: normalised once, embedded at most once.</summary>
    public MessageAnalysis Analyze(string text) => Model.Analyze(text, Normalizer);

    public float ThresholdFor(string family) => Thresholds.GetValueOrDefault(family, 0.5f);

    public static FixedReply ReplyFor(IReadOnlyDictionary<string, FixedReply> replies, string locale)
    {
        var key = Locales.Resolve(locale, [.. replies.Keys.OrderBy(k => k == "en" ? 0 : 1)]);
        return replies[key];
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
