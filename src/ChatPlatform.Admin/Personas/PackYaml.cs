using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace ChatPlatform.Admin.Personas;

/// <summary>
/// Reads and changes values in a pack's YAML file (persona.yaml, safety.yaml) for the editor's form fields.
/// Values the form does not show are kept; comments are not (the YAML model has none).
/// </summary>
public sealed class PackYaml
{
    private readonly YamlMappingNode _root;

    private PackYaml(YamlMappingNode root) => _root = root;

    /// <exception cref="InvalidDataException">The text is not YAML with a mapping at the top.</exception>
    public static PackYaml Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return new PackYaml(new YamlMappingNode());
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new InvalidDataException($"invalid YAML at line {e.Start.Line}: {e.Message}", e);
        }
        return stream.Documents.FirstOrDefault()?.RootNode is YamlMappingNode root
            ? new PackYaml(root)
            : throw new InvalidDataException("the file must be a YAML mapping (key: value lines)");
    }

    public string? Get(params string[] path) =>
        Node(path) is YamlScalarNode { Value: var value } ? value : null;

    public double? GetNumber(params string[] path) =>
        double.TryParse(Get(path), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) ? n : null;

    public bool? GetBool(params string[] path) => Get(path) switch
    {
        "true" or "True" or "yes" => true,
        "false" or "False" or "no" => false,
        _ => null,
    };

    public IReadOnlyList<string> GetList(params string[] path) =>
        Node(path) is YamlSequenceNode seq ? [.. seq.Children.OfType<YamlScalarNode>().Select(s => s.Value ?? "")] : [];

    public IReadOnlyDictionary<string, string> GetMap(params string[] path) =>
        Node(path) is YamlMappingNode map
            ? map.Children.Where(c => c.Key is YamlScalarNode && c.Value is YamlScalarNode)
                .ToDictionary(c => ((YamlScalarNode)c.Key).Value ?? "", c => ((YamlScalarNode)c.Value).Value ?? "", StringComparer.Ordinal)
            : new Dictionary<string, string>();

    public void Set(string value, params string[] path) => SetNode(new YamlScalarNode(value), path);

    /// <summary>Sets a text; one of several lines is written as a literal block (<c>|</c>) so it stays readable.</summary>
    public void SetText(string value, params string[] path)
    {
        ArgumentNullException.ThrowIfNull(value);
        SetNode(new YamlScalarNode(value) { Style = value.Contains('\n', StringComparison.Ordinal) ? ScalarStyle.Literal : ScalarStyle.Any }, path);
    }

    public void SetNumber(double value, params string[] path) =>
        SetNode(new YamlScalarNode(value.ToString(CultureInfo.InvariantCulture)) { Style = ScalarStyle.Plain }, path);

    public void SetBool(bool value, params string[] path) =>
        SetNode(new YamlScalarNode(value ? "true" : "false") { Style = ScalarStyle.Plain }, path);

    public void SetList(IEnumerable<string> values, params string[] path) =>
        SetNode(new YamlSequenceNode(values.Select(v => new YamlScalarNode(v))) { Style = SequenceStyle.Flow }, path);

    /// <summary>Sets each key of a map (per-locale texts); keys not given stay as they are.</summary>
    public void SetMapValues(IReadOnlyDictionary<string, string> values, params string[] path)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (Node(path) is not YamlMappingNode map)
        {
            map = new YamlMappingNode();
            SetNode(map, path);
        }
        foreach (var (key, value) in values)
            map.Children[new YamlScalarNode(key)] = new YamlScalarNode(value);
    }

    /// <summary>Removes the key at <paramref name="path"/>, and its parent map when that is left empty.</summary>
    public void Remove(params string[] path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0 || Node(path[..^1]) is not YamlMappingNode parent) return;
        parent.Children.Remove(new YamlScalarNode(path[^1]));
        if (parent.Children.Count == 0 && path.Length > 1) Remove(path[..^1]);
    }

    public override string ToString()
    {
        var stream = new YamlStream(new YamlDocument(_root));
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        stream.Save(writer, assignAnchors: false);
        var text = writer.ToString();
        // YamlDotNet ends a document with "...": not needed for a single document.
        if (text.EndsWith("...\n", StringComparison.Ordinal)) text = text[..^4];
        else if (text.EndsWith("..." + Environment.NewLine, StringComparison.Ordinal)) text = text[..^(3 + Environment.NewLine.Length)];
        return text;
    }

    private YamlNode? Node(string[] path)
    {
        YamlNode current = _root;
        foreach (var key in path)
        {
            if (current is not YamlMappingNode map || !map.Children.TryGetValue(new YamlScalarNode(key), out var next)) return null;
            current = next;
        }
        return current;
    }

    private void SetNode(YamlNode value, string[] path)
    {
        var map = _root;
        for (var i = 0; i < path.Length - 1; i++)
        {
            if (!map.Children.TryGetValue(new YamlScalarNode(path[i]), out var next) || next is not YamlMappingNode child)
            {
                child = new YamlMappingNode();
                map.Children[new YamlScalarNode(path[i])] = child;
            }
            map = child;
        }
        map.Children[new YamlScalarNode(path[^1])] = value;
    }
}
