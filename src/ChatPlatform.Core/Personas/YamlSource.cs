using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ChatPlatform.Core.Personas;

/// <summary>One YAML file of a pack: parses it and records problems against its display path.</summary>
internal sealed class YamlSource(string displayPath, List<PackProblem> problems)
{
    public string DisplayPath => displayPath;

    public void Report(int line, string message) => problems.Add(new PackProblem(displayPath, line, message));

    public void Report(YamlNode node, string message) => Report(LineOf(node), message);

    public static int LineOf(YamlNode node) => (int)Math.Max(1, node.Start.Line);

    /// <summary>Parses the file; returns its top-level mapping as a section, or null (with a problem recorded).</summary>
    public YamlSection? Parse(string fullPath, IReadOnlyCollection<string> knownKeys)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(fullPath);
            stream.Load(reader);
        }
        catch (YamlException ex)
        {
            Report((int)Math.Max(1, ex.Start.Line), "invalid YAML: " + ex.Message);
            return null;
        }

        if (stream.Documents.Count == 0)
        {
            Report(1, "file is empty");
            return null;
        }
        if (stream.Documents.Count > 1)
            Report(stream.Documents[1].RootNode, "only one YAML document is expected; remove the '---' separator");

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            Report(stream.Documents[0].RootNode, "expected a mapping of keys to values at the top of the file");
            return null;
        }
        return new YamlSection(this, root, prefix: "", knownKeys, isRoot: true);
    }
}

/// <summary>
/// A YAML mapping read with typed accessors. Every accessor records a problem (with the line of the offending
/// key or value) instead of throwing, and returns null when the value is missing or unusable.
/// </summary>
internal sealed class YamlSection
{
    private readonly YamlSource _source;
    private readonly YamlMappingNode _node;
    private readonly string _prefix;
    private readonly bool _isRoot;
    private readonly Dictionary<string, (YamlScalarNode Key, YamlNode Value)> _entries = new(StringComparer.Ordinal);

    public YamlSection(YamlSource source, YamlMappingNode node, string prefix, IReadOnlyCollection<string> knownKeys, bool isRoot = false)
    {
        _source = source;
        _node = node;
        _prefix = prefix;
        _isRoot = isRoot;
        foreach (var (keyNode, value) in node.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { Length: > 0 } key } scalarKey)
            {
                source.Report(keyNode, $"keys {Where()}must be plain names");
                continue;
            }
            if (!knownKeys.Contains(key))
            {
                source.Report(scalarKey, $"unknown key '{Name(key)}'{Suggest(key, knownKeys)}");
                continue;
            }
            _entries[key] = (scalarKey, value);
        }
    }

    public YamlSource Source => _source;

    /// <summary>Line of this mapping (line 1 for the top of the file), used for missing keys.</summary>
    public int Line => _isRoot ? 1 : YamlSource.LineOf(_node);

    public string Name(string key) => _prefix.Length == 0 ? key : _prefix + "." + key;

    public bool Has(string key) => _entries.ContainsKey(key);

    public int KeyLine(string key) => _entries.TryGetValue(key, out var e) ? YamlSource.LineOf(e.Key) : Line;

    public void Missing(string key) => _source.Report(Line, $"{Name(key)} is required");

    /// <summary>The raw value node, or null when the key is absent (reported when required) or explicitly null.</summary>
    public YamlNode? Node(string key, bool required)
    {
        if (!_entries.TryGetValue(key, out var entry))
        {
            if (required) Missing(key);
            return null;
        }
        if (IsNull(entry.Value))
        {
            if (required) _source.Report(entry.Key, $"{Name(key)} must not be empty");
            return null;
        }
        return entry.Value;
    }

    public string? String(string key, bool required = false)
    {
        var node = Node(key, required);
        if (node is null) return null;
        if (node is not YamlScalarNode scalar)
        {
            _source.Report(node, $"{Name(key)} must be text, got {Describe(node)}");
            return null;
        }
        var value = scalar.Value ?? "";
        if (string.IsNullOrWhiteSpace(value))
        {
            _source.Report(node, $"{Name(key)} must not be empty");
            return null;
        }
        return value;
    }

    public double? Number(string key, double min, double max, bool required = false)
    {
        var node = Node(key, required);
        if (node is null) return null;
        if (!TryNumber(node, out var value))
        {
            _source.Report(node, $"{Name(key)} must be a number, got {Describe(node)}");
            return null;
        }
        if (value < min || value > max)
        {
            _source.Report(node, $"{Name(key)} must be between {Format(min)} and {Format(max)}, got {Raw(node)}");
            return null;
        }
        return value;
    }

    public long? Integer(string key, long min, long max, bool required = false)
    {
        var node = Node(key, required);
        if (node is null) return null;
        if (!TryNumber(node, out var value) || value != Math.Floor(value))
        {
            _source.Report(node, $"{Name(key)} must be a whole number, got {Describe(node)}");
            return null;
        }
        if (value < min || value > max)
        {
            var range = max >= int.MaxValue ? $"at least {min}" : $"between {min} and {max}";
            _source.Report(node, $"{Name(key)} must be {range}, got {Raw(node)}");
            return null;
        }
        return (long)value;
    }

    public bool? Bool(string key)
    {
        var node = Node(key, required: false);
        if (node is null) return null;
        if (node is YamlScalarNode { Style: ScalarStyle.Plain, Value: { } text })
        {
            if (text is "true" or "True" or "TRUE") return true;
            if (text is "false" or "False" or "FALSE") return false;
        }
        _source.Report(node, $"{Name(key)} must be true or false, got {Describe(node)}");
        return null;
    }

    public YamlSection? Section(string key, IReadOnlyCollection<string> knownKeys, bool required = false)
    {
        var node = Node(key, required);
        if (node is null) return null;
        if (node is not YamlMappingNode mapping)
        {
            _source.Report(node, $"{Name(key)} must be a mapping of keys to values, got {Describe(node)}");
            return null;
        }
        return new YamlSection(_source, mapping, Name(key), knownKeys);
    }

    public YamlSequenceNode? Sequence(string key, bool required = false)
    {
        var node = Node(key, required);
        if (node is null) return null;
        if (node is not YamlSequenceNode sequence)
        {
            _source.Report(node, $"{Name(key)} must be a list, got {Describe(node)}");
            return null;
        }
        return sequence;
    }

    /// <summary>A list of non-empty text items; bad items are reported and skipped.</summary>
    public List<(string Value, YamlNode Node)>? StringList(string key, bool required = false)
    {
        var sequence = Sequence(key, required);
        if (sequence is null) return null;
        var items = new List<(string, YamlNode)>();
        var index = 0;
        foreach (var item in sequence.Children)
        {
            if (item is YamlScalarNode { Value: { } text } && !IsNull(item) && !string.IsNullOrWhiteSpace(text))
                items.Add((text, item));
            else
                _source.Report(item, $"{Name(key)}[{index}] must be non-empty text, got {Describe(item)}");
            index++;
        }
        return items;
    }

    /// <summary>
    /// A mapping of names to non-empty text (e.g. one entry per locale). Entries whose value is not usable text
    /// are reported and come back with a null value, so callers know the name was present.
    /// </summary>
    public List<(string Key, YamlNode KeyNode, string? Value)>? StringMap(string key, bool required = false)
    {
        var node = Node(key, required);
        if (node is null) return null;
        if (node is not YamlMappingNode mapping)
        {
            _source.Report(node, $"{Name(key)} must be a mapping with one entry per locale, got {Describe(node)}");
            return null;
        }
        var items = new List<(string, YamlNode, string?)>();
        foreach (var (k, v) in mapping.Children)
        {
            if (k is not YamlScalarNode { Value: { Length: > 0 } name })
            {
                _source.Report(k, $"keys in {Name(key)} must be plain names");
                continue;
            }
            if (v is YamlScalarNode { Value: { } text } && !IsNull(v) && !string.IsNullOrWhiteSpace(text))
                items.Add((name, k, text.Trim()));
            else
            {
                _source.Report(v, $"{Name(key)}.{name} must be non-empty text, got {Describe(v)}");
                items.Add((name, k, null));
            }
        }
        return items;
    }

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        _ when IsNull(node) => "nothing",
        YamlScalarNode { Style: ScalarStyle.Plain, Value: var v } => $"'{v}'",
        YamlScalarNode { Value: var v } => $"quoted text \"{v}\"",
        _ => "an unsupported value",
    };

    private string Where() => _prefix.Length == 0 ? "" : $"in {_prefix} ";

    private static bool TryNumber(YamlNode node, out double value)
    {
        value = 0;
        return node is YamlScalarNode { Style: ScalarStyle.Plain, Value: { Length: > 0 } text }
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value)
            && double.IsFinite(value);
    }

    private static string Raw(YamlNode node) => (node as YamlScalarNode)?.Value ?? "";

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Suggest(string key, IReadOnlyCollection<string> knownKeys)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in knownKeys)
        {
            var distance = string.Equals(candidate, key, StringComparison.OrdinalIgnoreCase)
                ? 0
                : EditDistance(key.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        return best is not null && bestDistance <= Math.Max(1, key.Length / 3) ? $"; did you mean '{best}'?" : "";
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
