using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace ChatPlatform.Core.Personas;

/// <summary>
/// Reads persona packs from disk and validates them. Nothing throws for a bad pack: every problem found in one
/// pass is returned as a <see cref="PackProblem"/> (<c>personas/&lt;id&gt;/persona.yaml:12: message</c>), and a pack
/// with any problem is not returned. The format is described in personas/README.md.
/// </summary>
public static partial class PackLoader
{
    public const string ManifestFileName = "persona.yaml";
    public const string SafetyFileName = "safety.yaml";
    public const string KnowledgeFolderName = "knowledge";
    public const string EvalsFolderName = "evals";

    /// <summary>The knowledge evaluation set in evals/ (questions and expected passages), not a conversation eval.</summary>
    public const string KnowledgeEvalFileName = "knowledge.jsonl";

    /// <summary>The system prompt file for a locale, e.g. <c>system.zh-CN.md</c>.</summary>
    public static string SystemPromptFileName(string locale) => $"system.{locale}.md";

    public const int MaxTokensLimit = 8192;
    public const int MaxContextLimit = 1 << 20;

    /// <summary>Loads one pack folder. Problem paths are relative to the folder above its personas folder.</summary>
    public static PackLoadResult Load(string packDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(packDirectory);
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(packDirectory));
        var personas = Path.GetDirectoryName(full);
        var read = new PackReader(full, personas is null ? null : Path.GetDirectoryName(personas)).Read();
        return new PackLoadResult(read.Pack, Sorted(read.Problems));
    }

    /// <summary>
    /// Loads every pack in a personas folder (each subfolder holding a persona.yaml). Packs that share an id are
    /// all rejected, since which one answers would otherwise depend on folder order.
    /// </summary>
    public static PackSetLoadResult LoadAll(string personasDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(personasDirectory);
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(personasDirectory));
        if (!Directory.Exists(full))
            return new PackSetLoadResult([], [new PackProblem(personasDirectory, 0, "personas folder not found")]);

        var displayBase = Path.GetDirectoryName(full);
        var reads = Directory.EnumerateDirectories(full)
            .Where(d => !Path.GetFileName(d).StartsWith('.') && File.Exists(Path.Combine(d, ManifestFileName)))
            .Order(StringComparer.Ordinal)
            .Select(d => new PackReader(d, displayBase).Read())
            .ToList();

        var problems = reads.SelectMany(r => r.Problems).ToList();
        if (reads.Count == 0)
            problems.Add(new PackProblem(PackPaths.Display(full, displayBase), 0,
                $"no persona packs found (a pack is a subfolder with a {ManifestFileName})"));

        var duplicates = new HashSet<PackRead>();
        foreach (var group in reads.Where(r => r.Id is not null).GroupBy(r => r.Id!, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            foreach (var read in group)
            {
                var others = string.Join(", ", group.Where(o => o != read).Select(o => o.ManifestPath));
                problems.Add(new PackProblem(read.ManifestPath, read.IdLine, $"duplicate persona id '{group.Key}': also used by {others}"));
                duplicates.Add(read);
            }
        }

        var packs = reads.Where(r => r.Pack is not null && !duplicates.Contains(r)).Select(r => r.Pack!).ToList();
        return new PackSetLoadResult(packs, Sorted(problems));
    }

    private static List<PackProblem> Sorted(IEnumerable<PackProblem> problems) =>
        [.. problems.OrderBy(p => p.Path, StringComparer.Ordinal).ThenBy(p => p.Line)];

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,47}$")]
    internal static partial Regex IdPattern();

    [GeneratedRegex(@"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")]
    private static partial Regex VersionPattern();

    [GeneratedRegex("^[a-z0-9][a-z0-9_.-]*$")]
    private static partial Regex ArchitecturePattern();

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial Regex Sha256Pattern();

    private static readonly string[] ManifestKeys =
        ["id", "name", "domain", "version", "description", "locales", "greeting", "generation", "adapters", "model", "channels", "knowledge"];
    private static readonly string[] GenerationKeys = ["temperature", "topP", "topK", "repeatPenalty", "maxTokens", "seed", "stop"];
    private static readonly string[] AdapterKeys = ["path", "scale", "sha256"];
    private static readonly string[] ModelKeys = ["architectures", "minContext"];
    private static readonly string[] SafetyKeys = ["rails", "disclaimer", "outOfScope", "crisis", "redactPii", "thresholds"];
    private static readonly string[] CrisisKeys = ["enabled", "offerHuman", "notifyWebhook", "resources"];
    private static readonly string[] KnowledgeKeys = ["maxPassages", "requireGrounding", "notFound", "curatedThreshold", "minRelevance"];

    internal sealed record PackRead(PersonaPack? Pack, List<PackProblem> Problems, string? Id, int IdLine, string ManifestPath);

    /// <summary>Reads one pack, collecting problems; a pack is built only when there are none.</summary>
    private sealed class PackReader(string packDir, string? displayBase)
    {
        private readonly List<PackProblem> _problems = [];
        private string? _id;
        private int _idLine = 1;
        private readonly HashSet<string> _declaredLocales = new(StringComparer.Ordinal);
        private bool _localesClean = true;
        private bool _railsClean = true;

        private string Display(string fullPath) => PackPaths.Display(fullPath, displayBase);

        private void Report(string fullPath, int line, string message) => _problems.Add(new PackProblem(Display(fullPath), line, message));

        public PackRead Read()
        {
            var manifestPath = Path.Combine(packDir, ManifestFileName);
            var pack = Directory.Exists(packDir) ? ReadPack(manifestPath) : null;
            if (!Directory.Exists(packDir)) Report(packDir, 0, "pack folder not found");
            return new PackRead(_problems.Count == 0 ? pack : null, _problems, _id, _idLine, Display(manifestPath));
        }

        private PersonaPack? ReadPack(string manifestPath)
        {
            var manifest = new YamlSource(Display(manifestPath), _problems);
            YamlSection? root = null;
            if (File.Exists(manifestPath))
                root = Parse(manifest, manifestPath, ManifestKeys);
            else
                Report(manifestPath, 0, $"{ManifestFileName} is missing");

            string? name = null, domain = null, version = null, description = null;
            List<(string Locale, YamlNode Node)>? locales = null;
            Dictionary<string, string>? greeting = null;
            GenerationSettings generation = new();
            ModelRequirements model = new();
            List<AdapterRef> adapters = [];
            List<string> channels = [];
            KnowledgeSettings knowledgeSettings = new();
            if (root is not null)
            {
                _id = ReadId(root);
                name = root.String("name", required: true);
                domain = root.String("domain", required: true);
                version = root.String("version", required: true);
                if (version is not null && !VersionPattern().IsMatch(version))
                    manifest.Report(root.KeyLine("version"), $"version must look like 1.2.0 (MAJOR.MINOR.PATCH), got '{version}'");
                description = root.String("description");
                locales = ReadLocales(root);
                greeting = ReadPerLocale(root, "greeting", locales, required: true);
                generation = ReadGeneration(root);
                model = ReadModel(root);
                adapters = ReadAdapters(root);
                channels = ReadChannels(root);
                knowledgeSettings = ReadKnowledge(root, locales);
                if (model.MinContext > 0 && generation.MaxTokens >= model.MinContext)
                    manifest.Report(root.KeyLine("generation"),
                        $"generation.maxTokens ({generation.MaxTokens}) must be smaller than model.minContext ({model.MinContext})");
            }

            var safety = ReadSafety(locales, domain);
            var prompts = ReadSystemPrompts(manifest, locales);
            var knowledge = Path.Combine(packDir, KnowledgeFolderName);
            // Evals are checked against locales and rails only when those lists are clean, so one typo in
            // persona.yaml or safety.yaml is reported once rather than again for every eval that uses it.
            var evals = EvalReader.Read(Path.Combine(packDir, EvalsFolderName), Display,
                _localesClean ? locales?.Select(l => l.Locale).ToList() : null,
                _railsClean ? safety?.Rails : null,
                _problems);

            if (_problems.Count > 0 || _id is null || name is null || domain is null || version is null
                || locales is null || greeting is null || prompts is null || safety is null)
                return null;

            return new PersonaPack
            {
                Id = _id,
                Name = name,
                Domain = domain,
                Version = version,
                Description = description ?? "",
                Directory = packDir,
                Locales = [.. locales.Select(l => l.Locale)],
                Greeting = greeting,
                SystemPrompt = prompts,
                Adapters = adapters,
                Generation = generation,
                Safety = safety,
                Channels = channels,
                Model = model,
                KnowledgeDirectory = Directory.Exists(knowledge) ? knowledge : null,
                Knowledge = knowledgeSettings,
                Evals = evals,
            };
        }

        private YamlSection? Parse(YamlSource source, string path, string[] keys)
        {
            try
            {
                return source.Parse(path, keys);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Report(path, 0, "cannot read file: " + ex.Message);
                return null;
            }
        }

        private string? ReadId(YamlSection root)
        {
            var id = root.String("id", required: true);
            _idLine = root.KeyLine("id");
            if (id is not null && !IdPattern().IsMatch(id))
                root.Source.Report(_idLine,
                    $"id must be 2-48 characters of lowercase letters, digits and '-', starting with a letter or digit, got '{id}'");
            return id;
        }

        private List<(string Locale, YamlNode Node)>? ReadLocales(YamlSection root)
        {
            var items = root.StringList("locales", required: true);
            if (items is null) return null;
            _declaredLocales.UnionWith(items.Select(i => i.Value));
            if (items.Count == 0 && root.Has("locales"))
                root.Source.Report(root.KeyLine("locales"), "locales must list at least one locale (the first is the default)");

            var valid = new List<(string, YamlNode)>();
            foreach (var (locale, node) in items)
            {
                if (!Locales.IsSupported(locale))
                {
                    root.Source.Report(node, $"unknown locale '{locale}'{SuggestLocale(locale)}; supported: {string.Join(", ", Locales.Supported)}");
                    _localesClean = false;
                }
                else if (valid.Any(v => v.Item1 == locale))
                    root.Source.Report(node, $"locale '{locale}' is listed twice");
                else
                    valid.Add((locale, node));
            }
            // With no usable locale, per-locale checks would only repeat the problems above.
            return valid.Count > 0 ? valid : null;
        }

        private static string SuggestLocale(string locale)
        {
            var normalized = locale.Replace('_', '-');
            var language = normalized.Split('-')[0];
            var match = Locales.Supported.FirstOrDefault(s => string.Equals(s, normalized, StringComparison.OrdinalIgnoreCase))
                ?? Locales.Supported.FirstOrDefault(s => string.Equals(s.Split('-')[0], language, StringComparison.OrdinalIgnoreCase));
            return match is null ? "" : $" (did you mean '{match}'?)";
        }

        /// <summary>
        /// A text per locale: every declared locale needs one (unless <paramref name="everyLocale"/> is false, for a map
        /// that overrides some locales only), and no other locale may appear.
        /// </summary>
        private Dictionary<string, string>? ReadPerLocale(
            YamlSection section, string key, List<(string Locale, YamlNode Node)>? locales, bool required, bool everyLocale = true)
        {
            var entries = section.StringMap(key, required);
            if (entries is null) return null;
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (locale, node, text) in entries)
            {
                if (locales is not null && !locales.Any(l => l.Locale == locale))
                {
                    if (_declaredLocales.Contains(locale)) continue; // an unsupported locale, reported in locales

                    var reason = Locales.IsSupported(locale)
                        ? "is not one of the pack's locales"
                        : $"is not a supported locale{SuggestLocale(locale)}";
                    section.Source.Report(node, $"{section.Name(key)}.{locale}: '{locale}' {reason} ({string.Join(", ", locales.Select(l => l.Locale))})");
                    continue;
                }
                if (text is not null) result[locale] = text;
            }
            if (locales is not null && everyLocale)
            {
                foreach (var (locale, _) in locales.Where(l => !entries.Any(e => e.Key == l.Locale)))
                    section.Source.Report(section.KeyLine(key), $"{section.Name(key)}.{locale} is required (one entry per locale)");
            }
            return result;
        }

        private static GenerationSettings ReadGeneration(YamlSection root)
        {
            var defaults = new GenerationSettings();
            var g = root.Section("generation", GenerationKeys);
            if (g is null) return defaults;
            return new GenerationSettings
            {
                Temperature = (float)(g.Number("temperature", 0, 2) ?? defaults.Temperature),
                TopP = (float)(g.Number("topP", 0, 1) ?? defaults.TopP),
                TopK = (int)(g.Integer("topK", 0, int.MaxValue) ?? defaults.TopK),
                RepeatPenalty = (float)(g.Number("repeatPenalty", 1, 2) ?? defaults.RepeatPenalty),
                MaxTokens = (int)(g.Integer("maxTokens", 1, MaxTokensLimit) ?? defaults.MaxTokens),
                Seed = (uint?)g.Integer("seed", 0, uint.MaxValue),
                Stop = g.StringList("stop")?.Select(s => s.Value).ToList() ?? defaults.Stop,
            };
        }

        private static ModelRequirements ReadModel(YamlSection root)
        {
            var m = root.Section("model", ModelKeys);
            if (m is null) return new ModelRequirements();
            var architectures = new List<string>();
            foreach (var (arch, node) in m.StringList("architectures") ?? [])
            {
                if (ArchitecturePattern().IsMatch(arch))
                    architectures.Add(arch);
                else
                    m.Source.Report(node, $"model.architectures: '{arch}' is not a model architecture name (lowercase, as in GGUF general.architecture, e.g. qwen2)");
            }
            return new ModelRequirements
            {
                Architectures = architectures,
                MinContext = (int)(m.Integer("minContext", 0, MaxContextLimit) ?? 0),
            };
        }

        private List<AdapterRef> ReadAdapters(YamlSection root)
        {
            var adapters = new List<AdapterRef>();
            var sequence = root.Sequence("adapters");
            if (sequence is null) return adapters;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var index = 0;
            foreach (var item in sequence.Children)
            {
                var prefix = $"adapters[{index++}]";
                if (item is not YamlMappingNode mapping)
                {
                    root.Source.Report(item, $"{prefix} must be a mapping with path, scale and sha256, got {YamlSection.Describe(item)}");
                    continue;
                }
                var a = new YamlSection(root.Source, mapping, prefix, AdapterKeys);
                var path = a.String("path", required: true);
                var scale = a.Number("scale", 0, 2) ?? 1.0;
                var sha256 = a.String("sha256");
                if (sha256 is not null && !Sha256Pattern().IsMatch(sha256))
                {
                    a.Source.Report(a.KeyLine("sha256"), $"{prefix}.sha256 must be 64 hexadecimal digits, got '{sha256}'");
                    sha256 = null;
                }
                if (path is null) continue;

                var full = CheckAdapterPath(a, prefix, path, sha256);
                if (full is null) continue;
                if (!seen.Add(full))
                    a.Source.Report(a.KeyLine("path"), $"{prefix}.path: adapter '{path}' is listed twice");
                adapters.Add(new AdapterRef(full, (float)scale, sha256?.ToLowerInvariant()));
            }
            return adapters;
        }

        /// <summary>Returns the adapter's full path when it is inside the pack, exists, and matches its hash.</summary>
        private string? CheckAdapterPath(YamlSection a, string prefix, string path, string? sha256)
        {
            var line = a.KeyLine("path");
            if (Path.IsPathRooted(path) || path.StartsWith('~'))
            {
                a.Source.Report(line, $"{prefix}.path must be relative to the pack folder (e.g. adapters/style.gguf), got '{path}'");
                return null;
            }
            var full = Path.GetFullPath(Path.Combine(packDir, path));
            if (!PackPaths.IsInside(full, packDir))
            {
                a.Source.Report(line, $"{prefix}.path '{path}' points outside the pack folder");
                return null;
            }
            if (Directory.Exists(full))
            {
                a.Source.Report(line, $"{prefix}.path '{path}' is a folder; name the adapter's .gguf file");
                return null;
            }
            var realPack = PackPaths.RealPath(packDir);
            var real = PackPaths.RealPath(full);
            if (realPack is null || real is null || !PackPaths.IsInside(real, realPack))
            {
                a.Source.Report(line, $"{prefix}.path '{path}' is a symbolic link that leads outside the pack folder");
                return null;
            }
            if (!File.Exists(full))
            {
                a.Source.Report(line, $"{prefix}.path: adapter file '{path}' not found");
                return null;
            }
            if (!path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
                a.Source.Report(line, $"{prefix}.path: adapter '{path}' must be a .gguf file");
            if (sha256 is not null)
            {
                try
                {
                    using var stream = File.OpenRead(full);
                    var actual = Convert.ToHexStringLower(SHA256.HashData(stream));
                    if (!string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase))
                        a.Source.Report(a.KeyLine("sha256"), $"{prefix}.sha256 does not match '{path}': the file's SHA-256 is {actual}");
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    a.Source.Report(line, $"{prefix}.path: cannot read '{path}': {ex.Message}");
                }
            }
            return full;
        }

        private KnowledgeSettings ReadKnowledge(YamlSection root, List<(string Locale, YamlNode Node)>? locales)
        {
            var k = root.Section("knowledge", KnowledgeKeys);
            if (k is null) return new KnowledgeSettings();
            var requireGrounding = k.Bool("requireGrounding") ?? false;
            var notFound = ReadPerLocale(k, "notFound", locales, required: requireGrounding);
            var defaults = new KnowledgeSettings();
            return new KnowledgeSettings
            {
                TopK = (int)(k.Integer("maxPassages", 1, 20) ?? defaults.TopK),
                RequireGrounding = requireGrounding,
                NotFound = notFound ?? [],
                CuratedThreshold = k.Number("curatedThreshold", 0.1, 1) ?? defaults.CuratedThreshold,
                MinRelevance = k.Number("minRelevance", 0, 1) ?? defaults.MinRelevance,
            };
        }

        private static List<string> ReadChannels(YamlSection root)
        {
            var channels = new List<string>();
            var items = root.StringList("channels", required: true);
            if (items is null) return channels;
            if (items.Count == 0 && root.Has("channels"))
                root.Source.Report(root.KeyLine("channels"), "channels must list at least one channel");
            foreach (var (channel, node) in items)
            {
                if (!ChannelNames.Known.Contains(channel))
                    root.Source.Report(node, $"unknown channel '{channel}'; known: {string.Join(", ", ChannelNames.Known.Order(StringComparer.Ordinal))}");
                else if (channels.Contains(channel))
                    root.Source.Report(node, $"channel '{channel}' is listed twice");
                else
                    channels.Add(channel);
            }
            return channels;
        }

        private SafetyPolicy? ReadSafety(List<(string Locale, YamlNode Node)>? locales, string? domain)
        {
            var path = Path.Combine(packDir, SafetyFileName);
            if (!File.Exists(path))
            {
                Report(path, 0, $"{SafetyFileName} is missing: every pack needs its safety settings");
                return null;
            }
            var root = Parse(new YamlSource(Display(path), _problems), path, SafetyKeys);
            if (root is null) return null;

            var rails = new List<string>();
            var railItems = root.StringList("rails", required: true);
            foreach (var (rail, node) in railItems ?? [])
            {
                if (!SafetyRails.Known.Contains(rail))
                {
                    root.Source.Report(node, $"unknown safety rail '{rail}'; known: {string.Join(", ", SafetyRails.Known.Order(StringComparer.Ordinal))}");
                    _railsClean = false;
                }
                else if (rails.Contains(rail))
                    root.Source.Report(node, $"rail '{rail}' is listed twice");
                else
                    rails.Add(rail);
            }
            if (railItems is not null && !railItems.Any(r => r.Value == SafetyRails.Crisis))
                root.Source.Report(root.KeyLine("rails"), $"rails must include '{SafetyRails.Crisis}': anyone talking to a persona may be in crisis");
            if (railItems is not null && domain == PersonaPack.HealthDomain && !railItems.Any(r => r.Value == SafetyRails.MedicalEmergency))
                root.Source.Report(root.KeyLine("rails"), $"rails must include '{SafetyRails.MedicalEmergency}' for a health persona");

            var disclaimer = ReadPerLocale(root, "disclaimer", locales, required: true);
            var outOfScope = ReadPerLocale(root, "outOfScope", locales, required: rails.Contains(SafetyRails.Scope));

            var crisis = new CrisisProtocol();
            var c = root.Section("crisis", CrisisKeys);
            if (c is not null)
            {
                var enabled = c.Bool("enabled");
                if (enabled == false)
                    c.Source.Report(c.KeyLine("enabled"), "crisis.enabled cannot be false: the crisis protocol is mandatory for every pack");
                var webhook = c.String("notifyWebhook");
                if (webhook is not null
                    && !(Uri.TryCreate(webhook, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)))
                {
                    c.Source.Report(c.KeyLine("notifyWebhook"), $"crisis.notifyWebhook must be an http(s) URL, got '{webhook}'");
                    webhook = null;
                }
                crisis = new CrisisProtocol
                {
                    Enabled = enabled ?? true,
                    OfferHuman = c.Bool("offerHuman") ?? true,
                    NotifyWebhook = webhook,
                    Resources = ReadCrisisResources(c, locales),
                };
            }

            var thresholds = new Dictionary<string, float>(StringComparer.Ordinal);
            var t = root.Section("thresholds", [.. SafetyPolicy.ThresholdRails]);
            if (t is not null)
            {
                foreach (var rail in SafetyPolicy.ThresholdRails.Order(StringComparer.Ordinal))
                {
                    if (t.Number(rail, 0.01, 0.99) is not { } value) continue;
                    if (rail == SafetyRails.Crisis && value > SafetyPolicy.MaxCrisisThreshold)
                        t.Source.Report(t.KeyLine(rail), string.Create(CultureInfo.InvariantCulture,
                            $"thresholds.crisis may only make the crisis rail more sensitive: use a value up to {SafetyPolicy.MaxCrisisThreshold}, got {value}"));
                    else
                        thresholds[rail] = (float)value;
                }
            }

            return new SafetyPolicy
            {
                Rails = rails,
                Disclaimer = disclaimer ?? [],
                OutOfScope = outOfScope ?? [],
                Crisis = crisis,
                RedactPii = root.Bool("redactPii") ?? true,
                Thresholds = thresholds,
            };
        }

        /// <summary>
        /// <c>crisis.resources</c>: the pack's own crisis reply for some of its locales. Each must be text that gives a
        /// way to reach a person (a phone number or a web address); a blank one is reported by the map reader.
        /// </summary>
        private Dictionary<string, string> ReadCrisisResources(YamlSection crisis, List<(string Locale, YamlNode Node)>? locales)
        {
            var resources = ReadPerLocale(crisis, "resources", locales, required: false, everyLocale: false);
            if (resources is null) return [];
            foreach (var locale in resources.Where(r => !CrisisProtocol.HasContact(r.Value)).Select(r => r.Key).ToList())
            {
                var line = crisis.Node("resources", required: false) is YamlMappingNode map
                    && map.Children.Keys.FirstOrDefault(k => k is YamlScalarNode { Value: var name } && name == locale) is { } keyNode
                        ? YamlSource.LineOf(keyNode) : crisis.KeyLine("resources");
                crisis.Source.Report(line, $"{crisis.Name("resources")}.{locale} gives no way to reach a person: "
                    + "include a phone number (e.g. a hotline) or a web address, or remove it to use the shared crisis resources");
                resources.Remove(locale);
            }
            return resources;
        }

        private Dictionary<string, string>? ReadSystemPrompts(YamlSource manifest, List<(string Locale, YamlNode Node)>? locales)
        {
            if (locales is null) return null;
            var prompts = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (locale, node) in locales)
            {
                var file = SystemPromptFileName(locale);
                var path = Path.Combine(packDir, file);
                if (!File.Exists(path))
                {
                    manifest.Report(node, $"locale '{locale}' has no system prompt: {file} is missing");
                    continue;
                }
                try
                {
                    var text = File.ReadAllText(path).Trim();
                    if (text.Length == 0)
                        Report(path, 0, $"system prompt for locale '{locale}' is empty");
                    else
                        prompts[locale] = text;
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    Report(path, 0, "cannot read file: " + ex.Message);
                }
            }

            foreach (var path in Directory.EnumerateFiles(packDir, "system.*.md").Order(StringComparer.Ordinal))
            {
                var fileName = Path.GetFileName(path);
                var locale = fileName["system.".Length..^".md".Length];
                if (!_declaredLocales.Contains(locale))
                    Report(path, 0, $"'{locale}' is not in persona.yaml locales ({string.Join(", ", locales.Select(l => l.Locale))}); "
                        + "add the locale or rename/remove this file");
            }
            return prompts;
        }
    }
}
