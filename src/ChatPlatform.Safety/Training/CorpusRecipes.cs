using System.IO.Compression;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using ChatPlatform.Core.IO;
using ChatPlatform.Safety.Rails;
using YamlDotNet.Serialization;

namespace ChatPlatform.Safety.Training;

/// <summary>
/// How the training corpora are gathered from public repositories (<c>safety/corpora.json</c>): for each repository,
/// the commit it was read at, its licence, and what is taken from which files with which label. The repository
/// keeps these recipes and never the lines they give; <c>chatplatform safety gather</c> turns checkouts of the
/// repositories into corpora for <c>safety train</c>, the same lines every time.
/// </summary>
public sealed partial class CorpusRecipes
{
    /// <summary>At most this many lines per label and language from one repository, every k-th when there are more.</summary>
    public int MaxPerLabel { get; init; } = 400;

    /// <summary>Longer lines are dropped: a pasted document says little about one message.</summary>
    public int MaxChars { get; init; } = 1500;

    public List<SourceRecipe> Sources { get; init; } = [];

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        ReadCommentHandling = JsonCommentHandling.Skip,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static CorpusRecipes Load(string path)
    {
        CorpusRecipes recipes;
        try
        {
            recipes = JsonSerializer.Deserialize<CorpusRecipes>(File.ReadAllText(path), Json)
                ?? throw new FormatException($"{path}: empty");
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path}: {e.Message}", e);
        }
        recipes.Validate(path);
        return recipes;
    }

    private void Validate(string path)
    {
        if (MaxPerLabel < 1) throw new FormatException($"{path}: maxPerLabel must be at least 1");
        if (MaxChars < 1) throw new FormatException($"{path}: maxChars must be at least 1");
        foreach (var source in Sources)
        {
            var where = $"{path}: source '{source.Repo}'";
            if (!RepoName().IsMatch(source.Repo)) throw new FormatException($"{where}: 'repo' must be owner/name");
            if (!CommitHash().IsMatch(source.Commit)) throw new FormatException($"{where}: 'commit' must be a 40-digit commit hash");
            if (string.IsNullOrWhiteSpace(source.Licence)) throw new FormatException($"{where}: 'licence' is missing");
            if (source.Take.Count == 0) throw new FormatException($"{where}: nothing to 'take'");
            foreach (var take in source.Take)
            {
                if (take.Files.Count == 0) throw new FormatException($"{where}: a take without 'files'");
                if (take.Format is not ("csv" or "json" or "jsonl" or "yaml" or "text" or "dialogue"))
                    throw new FormatException($"{where}: format '{take.Format}' is not one of csv, json, jsonl, yaml, text, dialogue");
                if (take.Field is null && take.Format is "csv" or "jsonl" or "yaml" or "dialogue")
                    throw new FormatException($"{where}: format '{take.Format}' needs a 'field'");
                if (SafetyFamilies.FromLabel(take.Label) is null)
                    throw new FormatException($"{where}: unknown label '{take.Label}'; expected one of {string.Join(", ", SafetyFamilies.Labels)}");
                if (take.Lang is not ("en" or "zh")) throw new FormatException($"{where}: 'lang' must be en or zh, not '{take.Lang}'");
                if (take.Where is not null && take.Format is not ("csv" or "jsonl"))
                    throw new FormatException($"{where}: 'where' needs named columns (format csv or jsonl), not format '{take.Format}'");
                if (take.Turn is not null && (take.Turn.Length == 0 || take.Format is not ("csv" or "json" or "jsonl")))
                    throw new FormatException($"{where}: 'turn' needs a speaker's tag (e.g. \"Human: \") and format csv, json or jsonl");
                if (take.Match is not null)
                {
                    try
                    {
                        _ = new Regex(take.Match);
                    }
                    catch (ArgumentException e)
                    {
                        throw new FormatException($"{where}: 'match' is not a regular expression ({e.Message})", e);
                    }
                }
            }
        }
    }

    /// <summary>
    /// The lines of every recipe, read from <paramref name="repos"/><c>/owner/name</c> checkouts, per repository in
    /// recipe order. A checkout at another commit than its recipe names is refused, since it may give other lines;
    /// a folder without git metadata is read with a warning.
    /// </summary>
    public Dictionary<string, List<CorpusLine>> Gather(string repos, Action<string>? log = null)
    {
        var gathered = new Dictionary<string, List<CorpusLine>>(StringComparer.Ordinal);
        foreach (var source in Sources)
        {
            var root = Path.Combine(repos, source.Repo);
            if (!Directory.Exists(root))
                throw new FileNotFoundException($"{source.Repo}: no checkout at '{root}' (git clone https://github.com/{source.Repo} {root} && git -C {root} checkout {source.Commit})");
            switch (GitHead(root))
            {
                case null:
                    log?.Invoke($"{source.Repo}: '{root}' has no git metadata; cannot confirm it is commit {source.Commit[..12]}");
                    break;
                case var head when !head.Equals(source.Commit, StringComparison.OrdinalIgnoreCase):
                    throw new InvalidDataException($"{source.Repo}: '{root}' is at commit {head[..12]}, the recipe reads {source.Commit[..12]} (git -C {root} checkout {source.Commit})");
            }

            var pools = new Dictionary<(string Label, string Lang), List<CorpusLine>>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var take in source.Take)
            {
                var match = take.Match is null ? null : new Regex(take.Match, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(5));
                var only = take.Ids?.ToHashSet(StringComparer.Ordinal);
                var except = take.ExceptIds?.ToHashSet(StringComparer.Ordinal);
                var found = new HashSet<string>(StringComparer.Ordinal);
                foreach (var file in Files(root, take.Files, source.Repo))
                {
                    var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
                    var index = 0;
                    foreach (var (raw, row) in Items(file, take))
                    {
                        var id = $"{relative}#{index++}";
                        if (only is not null && !only.Contains(id)) continue;
                        found.Add(id);
                        if (except is not null && except.Contains(id)) continue;
                        if (take.Where is not null && (row is null || !take.Where.All(w => row.TryGetValue(w.Key, out var v) && w.Value.Contains(v)))) continue;
                        var text = take.Turn is null ? raw : FirstTurn(raw, take.Turn);
                        if (text is null) continue;
                        foreach (var (from, to) in take.Replace ?? []) text = text.Replace(from, to, StringComparison.Ordinal);
                        text = text.Trim();
                        if (text.Length == 0 || text.Length > MaxChars) continue;
                        if (match is not null && !match.IsMatch(text)) continue;
                        if (!seen.Add(text)) continue;
                        var key = (take.Label, take.Lang);
                        if (!pools.TryGetValue(key, out var pool)) pools[key] = pool = [];
                        pool.Add(new CorpusLine(text, take.Label, take.Lang, $"{source.Repo}:{id}"));
                    }
                }
                if (only is not null && only.Except(found).FirstOrDefault() is { } missing)
                    throw new InvalidDataException($"{source.Repo}: id '{missing}' named by the recipe is not in the files it reads");
            }

            var lines = new List<CorpusLine>();
            foreach (var ((label, lang), pool) in pools)
            {
                var kept = EveryKth(pool, MaxPerLabel);
                lines.AddRange(kept);
                log?.Invoke($"{source.Repo}: {label}/{lang} {kept.Count}{(kept.Count < pool.Count ? $" of {pool.Count}" : "")}");
            }
            gathered[source.Repo] = lines;
        }
        return gathered;
    }

    /// <summary>Writes one <c>owner+name.jsonl</c> per repository into <paramref name="folder"/>.</summary>
    public static void Write(Dictionary<string, List<CorpusLine>> gathered, string folder)
    {
        Directory.CreateDirectory(folder);
        var options = new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        foreach (var (repo, lines) in gathered)
        {
            AtomicFile.Write(Path.Combine(folder, repo.Replace('/', '+') + ".jsonl"), stream =>
            {
                using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
                foreach (var line in lines)
                    writer.WriteLine(JsonSerializer.Serialize(new { text = line.Text, label = line.Label, lang = line.Lang, source = line.Source }, options));
            });
        }
    }

    /// <summary>At most <paramref name="max"/> lines spread evenly over the pool, in pool order.</summary>
    internal static List<T> EveryKth<T>(List<T> pool, int max) =>
        pool.Count <= max ? pool : [.. Enumerable.Range(0, max).Select(i => pool[(int)((long)i * pool.Count / max)])];

    /// <summary>The files a take names: paths under the checkout, where the file name may hold <c>*</c>.</summary>
    private static IEnumerable<string> Files(string root, IEnumerable<string> patterns, string repo)
    {
        foreach (var pattern in patterns)
        {
            var directory = Path.Combine(root, Path.GetDirectoryName(pattern) ?? "");
            var name = Path.GetFileName(pattern);
            if (pattern.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(pattern) || Path.GetDirectoryName(pattern)!.Contains('*'))
                throw new FormatException($"{repo}: file '{pattern}' must be a path inside the repository (a '*' only in the file name)");
            var files = Directory.Exists(directory)
                ? Directory.EnumerateFiles(directory, name).Order(NaturalOrder.Instance).ToList()
                : [];
            if (files.Count == 0) throw new FileNotFoundException($"{repo}: no file '{pattern}' in the checkout");
            foreach (var file in files) yield return file;
        }
    }

    /// <summary>
    /// The first turn of <paramref name="tag"/>'s speaker in a transcript of turns that each begin a paragraph with
    /// a speaker's tag (<c>"\n\nHuman: …\n\nAssistant: …"</c>), without the tag; null when that speaker never
    /// speaks. Later turns lean on what was said before them, so only the opening one stands alone.
    /// </summary>
    internal static string? FirstTurn(string transcript, string tag)
    {
        foreach (var turn in TurnStart().Split(transcript))
        {
            var trimmed = turn.TrimStart('\r', '\n');
            if (trimmed.StartsWith(tag, StringComparison.Ordinal)) return trimmed[tag.Length..];
        }
        return null;
    }

    /// <summary>A file's items in order, each with its row when the format has named columns.</summary>
    private static IEnumerable<(string Text, Dictionary<string, string>? Row)> Items(string file, CorpusTake take)
    {
        string content;
        try
        {
            using var stream = File.OpenRead(file);
            using Stream input = file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
                ? new GZipStream(stream, CompressionMode.Decompress)
                : stream;
            using var reader = new StreamReader(input, new UTF8Encoding(false, throwOnInvalidBytes: true));
            content = reader.ReadToEnd();
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"{file}: not UTF-8 text", e);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{file}: not a gzip file ({e.Message})", e);
        }
        switch (take.Format)
        {
            case "text":
                return [(content, null)];
            case "dialogue":
                return content.Split('\n')
                    .Select(l => l.TrimEnd('\r'))
                    .Where(l => l.StartsWith(take.Field!, StringComparison.Ordinal))
                    .Select(l => (l[take.Field!.Length..], (Dictionary<string, string>?)null))
                    .ToList();
            case "csv":
                return Csv(content, file, take.Field!);
            case "yaml":
                Dictionary<string, object>? yaml;
                try
                {
                    yaml = new DeserializerBuilder().Build().Deserialize<Dictionary<string, object>>(content);
                }
                catch (YamlDotNet.Core.YamlException e)
                {
                    throw new InvalidDataException($"{file}: not a YAML mapping ({e.Message})", e);
                }
                return yaml is not null && yaml.TryGetValue(take.Field!, out var value) && value is string s
                    ? [(s, null)]
                    : throw new InvalidDataException($"{file}: no text field '{take.Field}'");
            case "jsonl":
                return content.Split('\n').Where(l => l.Trim().Length > 0).SelectMany(l =>
                {
                    var line = Parse(l, file);
                    var row = line.ValueKind == JsonValueKind.Object
                        ? line.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String).ToDictionary(p => p.Name, p => p.Value.GetString()!)
                        : null;
                    return Strings(line, take.Field).Select(t => (t, row));
                }).ToList();
            default:
                return Strings(Parse(content, file), take.Field).Select(t => (t, (Dictionary<string, string>?)null)).ToList();
        }
    }

    private static JsonElement Parse(string json, string file)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}: not JSON ({e.Message})", e);
        }
    }

    /// <summary>
    /// The strings a dotted field path reaches: arrays are walked element by element, <c>*</c> takes every property
    /// of an object, and with no path left the strings themselves are taken.
    /// </summary>
    internal static IEnumerable<string> Strings(JsonElement node, string? field)
    {
        var path = string.IsNullOrEmpty(field) ? [] : field.Split('.');
        return Walk(node, path, 0);

        static IEnumerable<string> Walk(JsonElement node, string[] path, int depth)
        {
            switch (node.ValueKind)
            {
                case JsonValueKind.Array:
                    foreach (var element in node.EnumerateArray())
                        foreach (var s in Walk(element, path, depth)) yield return s;
                    break;
                case JsonValueKind.String when depth == path.Length:
                    yield return node.GetString()!;
                    break;
                case JsonValueKind.Object when depth < path.Length:
                    if (path[depth] == "*")
                    {
                        foreach (var property in node.EnumerateObject())
                            foreach (var s in Walk(property.Value, path, depth + 1)) yield return s;
                    }
                    else if (node.TryGetProperty(path[depth], out var next))
                    {
                        foreach (var s in Walk(next, path, depth + 1)) yield return s;
                    }
                    break;
            }
        }
    }

    /// <summary>RFC 4180 rows (quoted fields may hold commas, quotes and line breaks) as header → value.</summary>
    internal static List<(string Text, Dictionary<string, string>? Row)> Csv(string content, string file, string field)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var cell = new StringBuilder();
        var quoted = false;
        for (var i = content.Length > 0 && content[0] == '\uFEFF' ? 1 : 0; i < content.Length; i++)
        {
            var c = content[i];
            if (quoted)
            {
                if (c != '"') cell.Append(c);
                else if (i + 1 < content.Length && content[i + 1] == '"') { cell.Append('"'); i++; }
                else quoted = false;
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { row.Add(cell.ToString()); cell.Clear(); }
            else if (c is '\n' or '\r')
            {
                if (c == '\r' && i + 1 < content.Length && content[i + 1] == '\n') i++;
                row.Add(cell.ToString());
                cell.Clear();
                if (row.Count > 1 || row[0].Length > 0) rows.Add(row);
                row = [];
            }
            else cell.Append(c);
        }
        if (quoted) throw new InvalidDataException($"{file}: a quoted CSV field is not closed");
        if (cell.Length > 0 || row.Count > 0)
        {
            row.Add(cell.ToString());
            rows.Add(row);
        }
        if (rows.Count == 0) throw new InvalidDataException($"{file}: empty CSV");
        var header = rows[0];
        var column = header.IndexOf(field);
        if (column < 0) throw new InvalidDataException($"{file}: no column '{field}' (columns: {string.Join(", ", header)})");
        return [.. rows.Skip(1).Where(r => r.Count > column).Select(r =>
            (r[column], (Dictionary<string, string>?)header.Select((h, i) => (h, i)).Where(p => p.i < r.Count).ToDictionary(p => p.h, p => r[p.i])))];
    }

    /// <summary>The commit a checkout's HEAD points at, from its .git folder; null without one.</summary>
    internal static string? GitHead(string root)
    {
        var git = Path.Combine(root, ".git");
        if (!File.Exists(Path.Combine(git, "HEAD"))) return null;
        var head = File.ReadAllText(Path.Combine(git, "HEAD")).Trim();
        if (!head.StartsWith("ref: ", StringComparison.Ordinal)) return head;
        var reference = head[5..];
        var loose = Path.Combine(git, reference);
        if (File.Exists(loose)) return File.ReadAllText(loose).Trim();
        var packed = Path.Combine(git, "packed-refs");
        return File.Exists(packed)
            ? File.ReadLines(packed).Select(l => l.Split(' ')).FirstOrDefault(p => p.Length == 2 && p[1] == reference)?[0]
            : null;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    private static partial Regex RepoName();

    [GeneratedRegex("^[0-9a-fA-F]{40}$")]
    private static partial Regex CommitHash();

    /// <summary>case_2 before case_10: numbers in file names compare as numbers.</summary>
    private sealed class NaturalOrder : IComparer<string>
    {
        public static readonly NaturalOrder Instance = new();

        public int Compare(string? x, string? y)
        {
            var a = Chunks().Split(x ?? "");
            var b = Chunks().Split(y ?? "");
            for (var i = 0; i < Math.Min(a.Length, b.Length); i++)
            {
                var order = a[i].Length > 0 && char.IsAsciiDigit(a[i][0]) && b[i].Length > 0 && char.IsAsciiDigit(b[i][0])
                    ? (a[i].Length, a[i]).CompareTo((b[i].Length, b[i]))
                    : string.CompareOrdinal(a[i], b[i]);
                if (order != 0) return order;
            }
            return a.Length.CompareTo(b.Length);
        }
    }

    /// <summary>A blank line followed by a speaker's tag (a short name and a colon) starts a turn.</summary>
    [GeneratedRegex(@"\n\s*\n(?=[^\n:]{1,30}: )")]
    private static partial Regex TurnStart();

    [GeneratedRegex("([0-9]+)")]
    private static partial Regex Chunks();
}

/// <summary>One repository's recipe: where its lines come from and under which licence.</summary>
public sealed class SourceRecipe
{
    public string Repo { get; init; } = "";
    public string Commit { get; init; } = "";
    public string Licence { get; init; } = "";
    public List<CorpusTake> Take { get; init; } = [];
}

/// <summary>
/// Lines taken from some files of a repository with one label. An item's id is its file's path in the repository
/// and its place among the file's items (<c>path#0</c> is the first), so hand labels can name single items.
/// </summary>
public sealed class CorpusTake
{
    /// <summary>Paths in the repository; the file name may hold <c>*</c>.</summary>
    public List<string> Files { get; init; } = [];

    /// <summary>csv (a column), json (a dotted path; arrays are walked, <c>*</c> is every property), jsonl, yaml (a key), text (the whole file), dialogue (lines starting with the field, e.g. a speaker's tag). A file whose name ends in <c>.gz</c> is read through gzip.</summary>
    public string Format { get; init; } = "";

    public string? Field { get; init; }

    /// <summary>csv and jsonl: keep rows whose column (a jsonl line's top-level string property) holds one of the values.</summary>
    public Dictionary<string, List<string>>? Where { get; init; }

    /// <summary>Keep lines this regular expression matches (case-insensitive).</summary>
    public string? Match { get; init; }

    /// <summary>Take only these items (hand-labelled ones).</summary>
    public List<string>? Ids { get; init; }

    /// <summary>Never take these items (labelled otherwise, or left out of both classes).</summary>
    public List<string>? ExceptIds { get; init; }

    /// <summary>
    /// csv, json, jsonl: the item is a transcript, and only the first turn of the speaker with this tag is taken
    /// (e.g. <c>"Human: "</c>); items where that speaker never speaks are passed over.
    /// </summary>
    public string? Turn { get; init; }

    /// <summary>Text replaced before anything else, e.g. a template's placeholder for the model's name.</summary>
    public Dictionary<string, string>? Replace { get; init; }

    public string Label { get; init; } = "";
    public string Lang { get; init; } = "";
}

public sealed record CorpusLine(string Text, string Label, string Lang, string Source);
