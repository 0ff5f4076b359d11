using System.Text.Json;
using ChatPlatform.Safety.Evaluation;
using ChatPlatform.Safety.Rails;

namespace ChatPlatform.Safety.Training;

/// <summary>
/// Reads training corpora: folders of <c>*.jsonl</c> files (or single files) whose lines are
/// <c>{"text", "label", "lang"?, "source"?, "category"?}</c> with the labels of <c>chatplatform safety eval</c>.
/// A line's source is the part of its <c>source</c> before the first <c>:</c> (e.g. <c>owner/repo</c>), or the file
/// name when it has none: cross-source evaluation leaves out one source at a time.
/// </summary>
public static class SafetyCorpus
{
    public static List<EvalItem> Read(IEnumerable<string> paths)
    {
        var items = new List<EvalItem>();
        foreach (var path in paths)
        {
            IEnumerable<string> files;
            if (Directory.Exists(path)) files = Directory.EnumerateFiles(path, "*.jsonl").Order(StringComparer.Ordinal);
            else if (File.Exists(path)) files = [path];
            else throw new FileNotFoundException($"corpus '{path}' is neither a folder nor a file");
            foreach (var file in files) items.AddRange(ReadFile(file));
        }
        return items;
    }

    public static IEnumerable<EvalItem> ReadFile(string file)
    {
        var number = 0;
        var fallbackSource = Path.GetFileNameWithoutExtension(file);
        foreach (var line in File.ReadLines(file))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            string? text, label, lang, source, category, id;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                text = Field(root, "text");
                label = Field(root, "label");
                lang = Field(root, "lang");
                source = Field(root, "source");
                category = Field(root, "category");
                id = Field(root, "id");
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                throw new FormatException($"{file}:{number}: not a JSON object with string fields ({e.Message})", e);
            }
            if (string.IsNullOrWhiteSpace(text)) throw new FormatException($"{file}:{number}: 'text' is missing or empty");
            if (label is null || SafetyFamilies.FromLabel(label, category) is not { } family)
                throw new FormatException($"{file}:{number}: unknown label '{label}'; expected one of {string.Join(", ", SafetyFamilies.Labels)}");
            var origin = string.IsNullOrWhiteSpace(source) ? fallbackSource : source.Split(':', 2)[0];
            yield return new EvalItem(text, family.Family, family.Positive, string.IsNullOrWhiteSpace(lang) ? GuessLang(text) : lang, id, origin);
        }
    }

    private static string? Field(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string GuessLang(string text) => text.Any(Text.TextNormalizer.IsCjk) ? "zh" : "en";
}
