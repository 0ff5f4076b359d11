using System.Collections.Frozen;

namespace ChatPlatform.Knowledge.Search;

/// <summary>
/// Groups of words that questions and documents use for the same thing (不预约 ↔ 无需预约, 晚上 ↔ 非开放时间,
/// cost ↔ fee), read from the embedded <c>synonyms.txt</c>. A question term that is a one-word member of a group may
/// be found through any other member; a member of several words counts only where all its words are.
/// </summary>
public static class Synonyms
{
    private static readonly Lazy<FrozenDictionary<string, string[][]>> s_groups = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The other members of every group holding <paramref name="term"/>, each as the terms it is indexed as.</summary>
    public static IReadOnlyList<string[]> For(string term) =>
        s_groups.Value.TryGetValue(term, out var alternatives) ? alternatives : [];

    private static FrozenDictionary<string, string[][]> Load()
    {
        using var stream = typeof(Synonyms).Assembly.GetManifestResourceStream("ChatPlatform.Knowledge.Search.synonyms.txt")
            ?? throw new InvalidOperationException("The synonyms list is missing from ChatPlatform.Knowledge.");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    }

    /// <summary>Reads the list format: one comma-separated group per line, # starts a comment.</summary>
    internal static FrozenDictionary<string, string[][]> Parse(string text)
    {
        var byTerm = new Dictionary<string, List<string[]>>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var members = line.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(m => TextAnalyzer.DocumentTerms(m).Distinct(StringComparer.Ordinal).ToArray())
                .Where(m => m.Length > 0)
                .ToList();
            foreach (var key in members.Where(m => m.Length == 1).Select(m => m[0]))
            {
                if (!byTerm.TryGetValue(key, out var list)) byTerm[key] = list = [];
                foreach (var other in members)
                {
                    if (other.Length == 1 && other[0] == key) continue;
                    if (!list.Any(existing => existing.SequenceEqual(other, StringComparer.Ordinal))) list.Add(other);
                }
            }
        }
        return byTerm.ToFrozenDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
    }
}
