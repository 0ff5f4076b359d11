using ChatPlatform.Core.Personas;

namespace ChatPlatform.Admin.Personas;

/// <summary>An adapter line of the editor: its path inside the pack and the scale it is applied with.</summary>
public sealed class AdapterForm
{
    public required string Path { get; set; }
    public double Scale { get; set; } = 1.0;
    public string? Sha256 { get; set; }
}

/// <summary>
/// The editor's fields for one draft, read from and written back to the pack's files: persona.yaml (name, greeting,
/// generation, adapters, channels), system.&lt;locale&gt;.md and safety.yaml (rails, disclaimer, crisis protocol and resources, thresholds).
/// </summary>
public sealed class PersonaForm
{
    public string Name { get; set; } = "";
    public IReadOnlyList<string> Locales { get; private set; } = [];
    public Dictionary<string, string> Greeting { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, string> SystemPrompt { get; } = new(StringComparer.Ordinal);
    public double Temperature { get; set; } = 0.7;
    public double TopP { get; set; } = 0.9;
    public int TopK { get; set; } = 40;
    public double RepeatPenalty { get; set; } = 1.1;
    public int MaxTokens { get; set; } = 512;
    public HashSet<string> Channels { get; } = new(StringComparer.Ordinal);
    public List<AdapterForm> Adapters { get; } = [];
    public HashSet<string> Rails { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, string> Disclaimer { get; } = new(StringComparer.Ordinal);
    public bool CrisisEnabled { get; set; } = true;
    public bool OfferHuman { get; set; } = true;

    /// <summary>
    /// The pack's own crisis resources per locale (safety.yaml <c>crisis.resources</c>); empty means the shared ones
    /// from the safety folder apply.
    /// </summary>
    public Dictionary<string, string> CrisisResources { get; } = new(StringComparer.Ordinal);

    /// <summary>The pack's classifier thresholds by rail (<see cref="SafetyPolicy.ThresholdRails"/>); null keeps the platform default.</summary>
    public Dictionary<string, double?> Thresholds { get; } = new(StringComparer.Ordinal);

    /// <exception cref="InvalidDataException">persona.yaml or safety.yaml is not readable YAML.</exception>
    public static PersonaForm From(IReadOnlyDictionary<string, string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var persona = PackYaml.Parse(files.GetValueOrDefault(PackLoader.ManifestFileName));
        var safety = PackYaml.Parse(files.GetValueOrDefault(PackLoader.SafetyFileName));
        var form = new PersonaForm
        {
            Name = persona.Get("name") ?? "",
            Locales = persona.GetList("locales"),
            Temperature = persona.GetNumber("generation", "temperature") ?? 0.7,
            TopP = persona.GetNumber("generation", "topP") ?? 0.9,
            TopK = (int)(persona.GetNumber("generation", "topK") ?? 40),
            RepeatPenalty = persona.GetNumber("generation", "repeatPenalty") ?? 1.1,
            MaxTokens = (int)(persona.GetNumber("generation", "maxTokens") ?? 512),
            CrisisEnabled = safety.GetBool("crisis", "enabled") ?? true,
            OfferHuman = safety.GetBool("crisis", "offerHuman") ?? true,
        };
        foreach (var locale in form.Locales)
        {
            form.Greeting[locale] = persona.GetMap("greeting").GetValueOrDefault(locale, "");
            form.SystemPrompt[locale] = files.GetValueOrDefault(PackLoader.SystemPromptFileName(locale), "");
            form.Disclaimer[locale] = safety.GetMap("disclaimer").GetValueOrDefault(locale, "");
            form.CrisisResources[locale] = safety.GetMap("crisis", "resources").GetValueOrDefault(locale, "");
        }
        foreach (var rail in SafetyPolicy.ThresholdRails.Order(StringComparer.Ordinal))
            form.Thresholds[rail] = safety.GetNumber("thresholds", rail);
        form.Channels.UnionWith(persona.GetList("channels"));
        form.Rails.UnionWith(safety.GetList("rails"));
        form.Adapters.AddRange(AdapterLines(files.GetValueOrDefault(PackLoader.ManifestFileName)));
        return form;
    }

    /// <summary>The files with this form's values written in; files the form does not cover are kept as they are.</summary>
    public SortedDictionary<string, string> ApplyTo(IReadOnlyDictionary<string, string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var result = new SortedDictionary<string, string>(files.ToDictionary(), StringComparer.Ordinal);
        var persona = PackYaml.Parse(files.GetValueOrDefault(PackLoader.ManifestFileName));
        persona.Set(Name, "name");
        persona.SetMapValues(Greeting, "greeting");
        persona.SetNumber(Temperature, "generation", "temperature");
        persona.SetNumber(TopP, "generation", "topP");
        persona.SetNumber(TopK, "generation", "topK");
        persona.SetNumber(RepeatPenalty, "generation", "repeatPenalty");
        persona.SetNumber(MaxTokens, "generation", "maxTokens");
        persona.SetList(ChannelNames.Known.Where(Channels.Contains).Order(StringComparer.Ordinal), "channels");
        var manifest = persona.ToString();
        if (Adapters.Count > 0 || manifest.Contains("adapters:", StringComparison.Ordinal))
            manifest = WithAdapters(manifest, Adapters);
        result[PackLoader.ManifestFileName] = manifest;

        foreach (var (locale, prompt) in SystemPrompt)
            result[PackLoader.SystemPromptFileName(locale)] = prompt;

        var safety = PackYaml.Parse(files.GetValueOrDefault(PackLoader.SafetyFileName));
        safety.SetList(SafetyRails.Known.Where(Rails.Contains).Order(StringComparer.Ordinal), "rails");
        safety.SetMapValues(Disclaimer.Where(d => d.Value.Length > 0).ToDictionary(), "disclaimer");
        safety.SetBool(CrisisEnabled, "crisis", "enabled");
        safety.SetBool(OfferHuman, "crisis", "offerHuman");
        foreach (var (locale, text) in CrisisResources)
        {
            if (string.IsNullOrWhiteSpace(text)) safety.Remove("crisis", "resources", locale);
            else safety.SetText(text.Trim(), "crisis", "resources", locale);
        }
        foreach (var (rail, value) in Thresholds)
        {
            if (value is { } threshold) safety.SetNumber(threshold, "thresholds", rail);
            else safety.Remove("thresholds", rail);
        }
        result[PackLoader.SafetyFileName] = safety.ToString();
        return result;
    }

    private static IEnumerable<AdapterForm> AdapterLines(string? manifest)
    {
        if (manifest is null) yield break;
        var stream = new YamlDotNet.RepresentationModel.YamlStream();
        try { stream.Load(new StringReader(manifest)); } catch (YamlDotNet.Core.YamlException) { yield break; }
        if (stream.Documents.FirstOrDefault()?.RootNode is not YamlDotNet.RepresentationModel.YamlMappingNode root
            || !root.Children.TryGetValue(new YamlDotNet.RepresentationModel.YamlScalarNode("adapters"), out var node)
            || node is not YamlDotNet.RepresentationModel.YamlSequenceNode seq) yield break;
        foreach (var item in seq.Children.OfType<YamlDotNet.RepresentationModel.YamlMappingNode>())
        {
            string? Value(string key) => item.Children.TryGetValue(new YamlDotNet.RepresentationModel.YamlScalarNode(key), out var v) ? (v as YamlDotNet.RepresentationModel.YamlScalarNode)?.Value : null;
            yield return new AdapterForm
            {
                Path = Value("path") ?? "",
                Scale = double.TryParse(Value("scale"), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s) ? s : 1.0,
                Sha256 = Value("sha256"),
            };
        }
    }

    private static string WithAdapters(string manifest, List<AdapterForm> adapters)
    {
        var stream = new YamlDotNet.RepresentationModel.YamlStream();
        stream.Load(new StringReader(manifest));
        var root = (YamlDotNet.RepresentationModel.YamlMappingNode)stream.Documents[0].RootNode;
        var seq = new YamlDotNet.RepresentationModel.YamlSequenceNode();
        foreach (var a in adapters)
        {
            var item = new YamlDotNet.RepresentationModel.YamlMappingNode
            {
                { "path", a.Path },
                { "scale", new YamlDotNet.RepresentationModel.YamlScalarNode(a.Scale.ToString(System.Globalization.CultureInfo.InvariantCulture)) { Style = YamlDotNet.Core.ScalarStyle.Plain } },
            };
            if (a.Sha256 is { Length: > 0 } sha) item.Add("sha256", sha);
            seq.Add(item);
        }
        if (adapters.Count == 0) seq.Style = YamlDotNet.Core.Events.SequenceStyle.Flow;
        root.Children[new YamlDotNet.RepresentationModel.YamlScalarNode("adapters")] = seq;
        return PackYaml.Parse(Save(stream)).ToString();
    }

    private static string Save(YamlDotNet.RepresentationModel.YamlStream stream)
    {
        using var writer = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        stream.Save(writer, assignAnchors: false);
        return writer.ToString();
    }
}
