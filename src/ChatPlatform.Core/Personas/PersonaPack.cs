using System.Text.RegularExpressions;

namespace ChatPlatform.Core.Personas;

/// <summary>
/// A loaded, validated persona pack. Paths are absolute; text is already read from the pack's files.
/// </summary>
public sealed record PersonaPack
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    /// <summary>The pack's field (<c>health</c>, <c>education</c>, <c>counselling</c>…); <see cref="HealthDomain"/> gets the medical rails and disclaimer checks.</summary>
    public required string Domain { get; init; }

    /// <summary>The domain whose packs must run the medical emergency rail and end replies with their disclaimer.</summary>
    public const string HealthDomain = "health";
    public required string Version { get; init; }
    public string Description { get; init; } = "";

    /// <summary>Folder the pack was loaded from (absolute).</summary>
    public required string Directory { get; init; }

    /// <summary>Locales the pack supports; the first is the default.</summary>
    public required IReadOnlyList<string> Locales { get; init; }
    public string DefaultLocale => Locales[0];

    /// <summary>Greeting per locale.</summary>
    public required IReadOnlyDictionary<string, string> Greeting { get; init; }

    /// <summary>System prompt text per locale (read from system.{locale}.md).</summary>
    public required IReadOnlyDictionary<string, string> SystemPrompt { get; init; }

    public IReadOnlyList<AdapterRef> Adapters { get; init; } = [];
    public GenerationSettings Generation { get; init; } = new();
    public SafetyPolicy Safety { get; init; } = new();
    public IReadOnlyList<string> Channels { get; init; } = [];

    /// <summary>Whether the pack's <c>channels:</c> list offers it on <paramref name="channel"/> (a <see cref="ChannelNames"/> name; null: any).</summary>
    public bool OfferedOn(string? channel) => channel is null || Channels.Count == 0 || Channels.Contains(channel);
    public ModelRequirements Model { get; init; } = new();

    /// <summary>The pack's knowledge/ folder (absolute) when it has one.</summary>
    public string? KnowledgeDirectory { get; init; }

    /// <summary>How the persona uses its documents and curated answers (persona.yaml <c>knowledge:</c>).</summary>
    public KnowledgeSettings Knowledge { get; init; } = new();

    /// <summary>Conversations from evals/*.jsonl the pack must pass before activation.</summary>
    public IReadOnlyList<PackEval> Evals { get; init; } = [];

    /// <summary>Picks the best supported locale for a requested one (exact, then language, then default).</summary>
    public string ResolveLocale(string? requested) => Personas.Locales.Resolve(requested, Locales);

    public string SystemPromptFor(string? locale) => SystemPrompt[ResolveLocale(locale)];
    public string GreetingFor(string? locale) => Greeting[ResolveLocale(locale)];

    /// <summary>The safety disclaimer for a locale, or null when the pack has none.</summary>
    public string? DisclaimerFor(string? locale) => Safety.Disclaimer.GetValueOrDefault(ResolveLocale(locale));

    /// <summary>The scope rail's reply for a locale, or null when the pack has none.</summary>
    public string? OutOfScopeFor(string? locale) => Safety.OutOfScope.GetValueOrDefault(ResolveLocale(locale));

    /// <summary>
    /// The pack's own crisis resources for a locale (safety.yaml <c>crisis.resources</c>), or null when the shared ones
    /// in the safety folder apply.
    /// </summary>
    public string? CrisisResourcesFor(string? locale) => Safety.Crisis.Resources.GetValueOrDefault(ResolveLocale(locale));

    /// <summary>The "nothing found in my sources" reply for a locale, or null when the pack has none.</summary>
    public string? NotFoundFor(string? locale) => Knowledge.NotFound.GetValueOrDefault(ResolveLocale(locale));
}

/// <summary>The <c>knowledge:</c> section of persona.yaml; every key is optional.</summary>
public sealed record KnowledgeSettings
{
    /// <summary>Passages put into the prompt at most.</summary>
    public int TopK { get; init; } = 4;

    /// <summary>When nothing relevant is found, answer with <see cref="NotFound"/> instead of calling the model.</summary>
    public bool RequireGrounding { get; init; }

    /// <summary>The reply per locale when grounding is required and nothing relevant is found.</summary>
    public IReadOnlyDictionary<string, string> NotFound { get; init; } = new Dictionary<string, string>();

    /// <summary>Similarity (0…1) a question needs to a curated question for the curated answer to be sent as is.</summary>
    public double CuratedThreshold { get; init; } = 0.75;

    /// <summary>Share (0…1, weighted by rarity) of the question's words a passage must contain to count as relevant.</summary>
    public double MinRelevance { get; init; } = 0.34;
}

/// <summary>A LoRA adapter the pack applies to the base model. <see cref="Path"/> is absolute.</summary>
public sealed record AdapterRef(string Path, float Scale, string? Sha256);

/// <summary>Sampling settings; null means "the platform default".</summary>
public sealed record GenerationSettings
{
    public float Temperature { get; init; } = 0.7f;
    public float TopP { get; init; } = 0.9f;
    public int TopK { get; init; } = 40;
    public float RepeatPenalty { get; init; } = 1.1f;
    public int MaxTokens { get; init; } = 512;
    public uint? Seed { get; init; }
    public IReadOnlyList<string> Stop { get; init; } = [];
}

/// <summary>What a persona needs from the base model.</summary>
public sealed record ModelRequirements
{
    /// <summary>Model architectures the pack's adapters were trained for (e.g. qwen2); empty means any.</summary>
    public IReadOnlyList<string> Architectures { get; init; } = [];
    public int MinContext { get; init; }
}

/// <summary>The persona's safety settings (from safety.yaml).</summary>
public sealed record SafetyPolicy
{
    public IReadOnlyList<string> Rails { get; init; } = [];
    public IReadOnlyDictionary<string, string> Disclaimer { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> OutOfScope { get; init; } = new Dictionary<string, string>();
    public CrisisProtocol Crisis { get; init; } = new();
    public bool RedactPii { get; init; } = true;

    /// <summary>
    /// Classifier thresholds this persona sets, by rail (<see cref="ThresholdRails"/>); a rail not listed uses the
    /// platform default. A lower value fires more readily.
    /// </summary>
    public IReadOnlyDictionary<string, float> Thresholds { get; init; } = new Dictionary<string, float>();

    /// <summary>Rails whose classifier threshold a pack may set.</summary>
    public static readonly IReadOnlySet<string> ThresholdRails =
        new HashSet<string>(StringComparer.Ordinal) { SafetyRails.Crisis, SafetyRails.MedicalEmergency, SafetyRails.Injection, SafetyRails.Harmful };

    /// <summary>
    /// The platform's crisis threshold, and the highest a pack may set: a persona may make the crisis rail more
    /// sensitive, never less.
    /// </summary>
    public const float MaxCrisisThreshold = 0.4f;
}

public sealed partial record CrisisProtocol
{
    public bool Enabled { get; init; } = true;
    /// <summary>Offer a human hand-over in the crisis reply.</summary>
    public bool OfferHuman { get; init; } = true;
    public string? NotifyWebhook { get; init; }

    /// <summary>
    /// The crisis reply per locale where this pack replaces the shared one (e.g. a service's own hotline); a locale
    /// not listed uses the safety folder's <c>crisis/&lt;locale&gt;.md</c>.
    /// </summary>
    public IReadOnlyDictionary<string, string> Resources { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Whether a crisis text gives a way to reach a person: a phone number (three or more digits, e.g. 988, 116 123,
    /// 010-82951332) or a web address. A crisis reply without one points nowhere.
    /// </summary>
    public static bool HasContact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (WebAddress().IsMatch(text)) return true;
        foreach (Match number in PhoneLike().Matches(text))
            if (number.Value.Count(char.IsAsciiDigit) >= 3) return true;
        return false;
    }

    [GeneratedRegex(@"\bhttps?://[^\s]+|\bwww\.[^\s]+\.[^\s]+", RegexOptions.IgnoreCase)]
    private static partial Regex WebAddress();

    [GeneratedRegex(@"\+?[0-9][0-9 ()\-]*[0-9]|[0-9]")]
    private static partial Regex PhoneLike();
}

/// <summary>Names of the safety rails a pack may enable.</summary>
public static class SafetyRails
{
    public const string Crisis = "crisis";
    public const string MedicalEmergency = "medical_emergency";
    public const string Injection = "injection";
    /// <summary>Requests for help to harm others, commit crimes or fraud, or practise medicine unethically.</summary>
    public const string Harmful = "harmful";
    public const string Pii = "pii";
    public const string Scope = "scope";
    public const string Output = "output";

    public static readonly IReadOnlySet<string> Known =
        new HashSet<string>(StringComparer.Ordinal) { Crisis, MedicalEmergency, Injection, Harmful, Pii, Scope, Output };
}

/// <summary>Channels a persona can be reached through.</summary>
public static class ChannelNames
{
    public const string Web = "web";
    public const string Api = "api";
    public const string Teams = "teams";
    public const string Slack = "slack";
    public const string Cli = "cli";

    public static readonly IReadOnlySet<string> Known =
        new HashSet<string>(StringComparer.Ordinal) { Web, Api, Teams, Slack, Cli };

    /// <summary>
    /// The pack channel a turn's stored channel belongs to: the web chat and widget are <c>web</c>, the OpenAI API is
    /// <c>api</c>, Bot Framework channels (<c>bf-…</c>) are <c>teams</c> except Slack through Azure. Null for the
    /// console's own probes, which may try any persona.
    /// </summary>
    public static string? OfTurnChannel(string channel) => channel switch
    {
        "web" or "directline" => Web,
        "openai" => Api,
        "slack" or "bf-slack" => Slack,
        "cli" => Cli,
        _ when channel.StartsWith("bf-", StringComparison.Ordinal) => Teams,
        _ => null,
    };
}

/// <summary>Locales the platform ships prompts, crisis resources and UI text for.</summary>
public static class Locales
{
    public static readonly IReadOnlyList<string> Supported = ["en", "zh-CN", "zh-TW", "zh-HK"];

    public static bool IsSupported(string locale) => Supported.Contains(locale, StringComparer.Ordinal);

    /// <summary>
    /// The language a message is written in, for a turn that names no locale: Chinese when it has more Han characters
    /// than Latin words, English when it has Latin words, otherwise null (the pack's first locale). A person who writes
    /// in English gets English crisis lines and replies from a pack whose first locale is Chinese, and the other way round.
    /// </summary>
    public static string? FromText(string text)
    {
        int han = 0, words = 0;
        var inWord = false;
        foreach (var c in text)
        {
            if (c is >= '\u4E00' and <= '\u9FFF' or >= '\u3400' and <= '\u4DBF') han++;
            var letter = c is >= 'a' and <= 'z' or >= 'A' and <= 'Z';
            if (letter && !inWord) words++;
            inWord = letter;
        }
        return han > words ? "zh-CN" : words > 0 ? "en" : null;
    }

    /// <summary>Exact match, then same language, then the first available.</summary>
    public static string Resolve(string? requested, IReadOnlyList<string> available)
    {
        if (!string.IsNullOrWhiteSpace(requested))
        {
            foreach (var l in available)
                if (string.Equals(l, requested, StringComparison.OrdinalIgnoreCase)) return l;
            var lang = requested.Split('-', '_')[0];
            foreach (var l in available)
                if (string.Equals(l.Split('-')[0], lang, StringComparison.OrdinalIgnoreCase)) return l;
        }
        return available[0];
    }
}
