using ChatPlatform.Core.Metrics;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using ChatPlatform.Core.Personas;
using ChatPlatform.Knowledge.Ingestion;

namespace ChatPlatform.Knowledge.Evaluation;

/// <summary>One question of a knowledge evaluation set and the ids that count as finding it.</summary>
public sealed record KnowledgeEvalCase(string Id, string? Locale, string Question, IReadOnlyList<string> Expected, int Line);

/// <summary>The figures of one run; ids and times per question are in <see cref="Cases"/>.</summary>
public sealed record KnowledgeEvalReport(
    [property: JsonPropertyName("recall_at_1")] double RecallAt1,
    [property: JsonPropertyName("recall_at_5")] double RecallAt5,
    [property: JsonPropertyName("mrr")] double Mrr,
    [property: JsonPropertyName("p95_ms")] double P95Ms,
    [property: JsonPropertyName("mean_ms")] double MeanMs,
    [property: JsonPropertyName("questions")] int Questions,
    [property: JsonPropertyName("by_locale")] IReadOnlyDictionary<string, LocaleFigures> ByLocale,
    [property: JsonPropertyName("cases")] IReadOnlyList<KnowledgeEvalResult> Cases);

public sealed record LocaleFigures(
    [property: JsonPropertyName("recall_at_1")] double RecallAt1,
    [property: JsonPropertyName("recall_at_5")] double RecallAt5,
    [property: JsonPropertyName("mrr")] double Mrr,
    [property: JsonPropertyName("questions")] int Questions);

public sealed record KnowledgeEvalResult(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("locale")] string? Locale,
    [property: JsonPropertyName("rank")] int? Rank,
    [property: JsonPropertyName("found")] IReadOnlyList<string> Found,
    [property: JsonPropertyName("ms")] double Ms);

/// <summary>
/// Runs a persona's questions through the same ranking a chat turn uses and reports recall@1, recall@5, mean
/// reciprocal rank and time per question. A ranked passage counts when its id equals an expected id or continues it
/// (<c>id~2</c>, the later part of a long section); a curated answer counts by its id.
/// </summary>
public static class KnowledgeEvaluator
{
    /// <summary>Reads a .jsonl set: <c>{"id", "locale"?, "question", "expect": ["passage or curated id", …]}</c> per line.</summary>
    public static List<KnowledgeEvalCase> Read(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KnowledgeImportException($"{path}: cannot read the file ({e.Message})", e);
        }
        var cases = new List<KnowledgeEvalCase>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            var where = $"{path}:{i + 1}";
            try
            {
                using var doc = JsonDocument.Parse(lines[i]);
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw new KnowledgeImportException($"{where}: expected a JSON object");
                string? Str(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                var id = Str("id") ?? $"line-{i + 1}";
                var question = Str("question");
                if (string.IsNullOrWhiteSpace(question)) throw new KnowledgeImportException($"{where}: 'question' is required");
                if (!root.TryGetProperty("expect", out var expect) || expect.ValueKind != JsonValueKind.Array || expect.GetArrayLength() == 0
                    || expect.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
                    throw new KnowledgeImportException($"{where}: 'expect' must be a non-empty list of passage or curated ids");
                if (!ids.Add(id)) throw new KnowledgeImportException($"{where}: duplicate id '{id}'");
                cases.Add(new KnowledgeEvalCase(id, Str("locale"), question, [.. expect.EnumerateArray().Select(e => e.GetString()!)], i + 1));
            }
            catch (JsonException e)
            {
                throw new KnowledgeImportException($"{where}: invalid JSON ({e.Message.Split(" LineNumber:")[0]})", e);
            }
        }
        if (cases.Count == 0) throw new KnowledgeImportException($"{path}: no questions");
        return cases;
    }

    public static async Task<KnowledgeEvalReport> RunAsync(KnowledgeBase knowledge, PersonaPack pack, IReadOnlyList<KnowledgeEvalCase> cases, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(knowledge);
        ArgumentNullException.ThrowIfNull(pack);
        ArgumentNullException.ThrowIfNull(cases);
        await knowledge.EnsureIndexAsync(pack.Id, cancellationToken: cancellationToken);
        var results = new List<KnowledgeEvalResult>();
        foreach (var c in cases)
        {
            var stopwatch = Stopwatch.StartNew();
            var ranking = await knowledge.RankAsync(pack.Id, c.Question, pack.Knowledge, 5, cancellationToken);
            var ms = stopwatch.Elapsed.TotalMilliseconds;
            var ids = ranking.Ids.Take(5).ToList();
            var index = ids.FindIndex(id => c.Expected.Any(e => Matches(id, e)));
            results.Add(new KnowledgeEvalResult(c.Id, c.Locale, index < 0 ? null : index + 1, ids, Math.Round(ms, 2)));
        }
        var byLocale = results.GroupBy(r => r.Locale ?? "-").OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => new LocaleFigures(Recall(g, 1), Recall(g, 5), Mrr(g), g.Count()));
        var times = results.Select(r => r.Ms).Order().ToList();
        return new KnowledgeEvalReport(Recall(results, 1), Recall(results, 5), Mrr(results), Percentile(times, 0.95),
            Math.Round(times.Average(), 2), results.Count, byLocale, results);
    }

    /// <summary>An id found counts for an expected id when equal, or when it is a later part of the same section (<c>~n</c>).</summary>
    public static bool Matches(string found, string expected) =>
        string.Equals(found, expected, StringComparison.Ordinal)
        || found.StartsWith(expected + "~", StringComparison.Ordinal);

    private static double Recall(IEnumerable<KnowledgeEvalResult> results, int k)
    {
        var list = results.ToList();
        return Math.Round(list.Count(r => r.Rank is { } rank && rank <= k) / (double)list.Count, 4);
    }

    private static double Mrr(IEnumerable<KnowledgeEvalResult> results)
    {
        var list = results.ToList();
        return Math.Round(list.Sum(r => r.Rank is { } rank ? 1.0 / rank : 0) / list.Count, 4);
    }

    /// <summary>Nearest-rank percentile of sorted times in milliseconds, rounded to 0.01 ms; 0 when there are none.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p) => Math.Round(ChatMetrics.Percentile(sorted, p) ?? 0, 2);
}
