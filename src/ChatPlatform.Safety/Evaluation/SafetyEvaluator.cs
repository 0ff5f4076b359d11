using ChatPlatform.Core.Metrics;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using ChatPlatform.Core.Personas;
using ChatPlatform.Safety.Detection;
using ChatPlatform.Safety.Rails;

namespace ChatPlatform.Safety.Evaluation;

/// <summary>One labelled line of an evaluation file.</summary>
public sealed record EvalItem(string Text, string Family, bool Positive, string Lang, string? Id, string Source = "");

/// <summary>Confusion counts and the rates derived from them.</summary>
public sealed record EvalScores(
    [property: JsonPropertyName("precision")] double Precision,
    [property: JsonPropertyName("recall")] double Recall,
    [property: JsonPropertyName("f1")] double F1,
    [property: JsonPropertyName("fpr")] double Fpr,
    [property: JsonPropertyName("tp")] int Tp,
    [property: JsonPropertyName("fp")] int Fp,
    [property: JsonPropertyName("fn")] int Fn,
    [property: JsonPropertyName("tn")] int Tn)
{
    public static EvalScores From(int tp, int fp, int fn, int tn)
    {
        var (precision, recall, f1, fpr) = Rates(tp, fp, fn, tn);
        return new(Math.Round(precision, 4), Math.Round(recall, 4), Math.Round(f1, 4), Math.Round(fpr, 4), tp, fp, fn, tn);
    }

    /// <summary>
    /// The rates from the counts, unrounded. The properties hold them to four decimals, as the JSON report gives them;
    /// what prints fewer decimals or averages rates starts from these, so a value is rounded once (12 of 276 is 0.043,
    /// not 0.0435 rounded again to 0.044).
    /// </summary>
    [JsonIgnore]
    public (double Precision, double Recall, double F1, double Fpr) Exact => Rates(Tp, Fp, Fn, Tn);

    private static (double Precision, double Recall, double F1, double Fpr) Rates(int tp, int fp, int fn, int tn)
    {
        var precision = tp + fp == 0 ? 0 : (double)tp / (tp + fp);
        var recall = tp + fn == 0 ? 0 : (double)tp / (tp + fn);
        var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        var fpr = fp + tn == 0 ? 0 : (double)fp / (fp + tn);
        return (precision, recall, f1, fpr);
    }
}

public sealed record EvalLatency([property: JsonPropertyName("p50")] double P50, [property: JsonPropertyName("p99")] double P99);

/// <summary>The report <c>chatplatform safety eval</c> prints and writes as JSON.</summary>
public sealed record EvalReport(
    [property: JsonPropertyName("families")] IReadOnlyDictionary<string, IReadOnlyDictionary<string, EvalScores>> Families,
    [property: JsonPropertyName("latency_ms")] EvalLatency LatencyMs)
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, s_json);
}

/// <summary>Runs the input rails over labelled lines and scores each family per language.</summary>
public static class SafetyEvaluator
{
    private const int WarmUpPasses = 3;

    /// <summary>Scores <paramref name="items"/>; with <paramref name="pack"/>, at that persona's thresholds.</summary>
    /// <param name="onError">Called for each misclassified line with the family's finding (lexicon match and score).</param>
    public static EvalReport Run(InputRails rails, IReadOnlyList<EvalItem> items, Action<EvalItem, DetectionResult>? onError = null, PersonaPack? pack = null)
    {
        // Warm-up passes (regex compilation, JIT) so latency reflects a running server, not start-up. The runtime
        // compiles hot methods again, optimised, in the background a little after their first calls; one pass left
        // the measured one running half-optimised code beside that compiler on the same cores.
        for (var pass = 0; pass < WarmUpPasses; pass++)
            foreach (var item in items) rails.Inspect(item.Text, pack);

        var outcomes = new List<(EvalItem, bool)>(items.Count);
        var latencies = new List<double>(items.Count);
        foreach (var item in items)
        {
            var start = Stopwatch.GetTimestamp();
            var findings = rails.Inspect(item.Text, pack);
            latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            var finding = findings.For(item.Family);
            if (finding.Fired != item.Positive) onError?.Invoke(item, finding);
            outcomes.Add((item, finding.Fired));
        }
        latencies.Sort();
        return new EvalReport(Score(outcomes), new EvalLatency(Math.Round(Percentile(latencies, 0.50), 4), Math.Round(Percentile(latencies, 0.99), 4)));
    }

    /// <summary>Confusion counts per family and language (and "all") from each line's outcome.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, EvalScores>> Score(IEnumerable<(EvalItem Item, bool Fired)> outcomes)
    {
        var counts = new Dictionary<(string Family, string Lang), int[]>();
        foreach (var (item, fired) in outcomes)
        {
            var cell = fired ? (item.Positive ? 0 : 1) : (item.Positive ? 2 : 3);
            foreach (var lang in new[] { "all", item.Lang })
            {
                if (!counts.TryGetValue((item.Family, lang), out var c)) counts[(item.Family, lang)] = c = new int[4];
                c[cell]++;
            }
        }
        var families = new SortedDictionary<string, IReadOnlyDictionary<string, EvalScores>>(StringComparer.Ordinal);
        foreach (var group in counts.GroupBy(kv => kv.Key.Family))
            families[group.Key] = group.OrderBy(kv => kv.Key.Lang == "all" ? "" : kv.Key.Lang, StringComparer.Ordinal)
                .ToDictionary(kv => kv.Key.Lang, kv => EvalScores.From(kv.Value[0], kv.Value[1], kv.Value[2], kv.Value[3]));
        return families;
    }

    private static double Percentile(List<double> sorted, double p) => ChatMetrics.Percentile(sorted, p) ?? 0;
}
