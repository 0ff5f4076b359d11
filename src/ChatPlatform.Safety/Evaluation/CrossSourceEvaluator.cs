using System.Text.Json;
using System.Text.Json.Serialization;
using ChatPlatform.Safety.Detection;
using ChatPlatform.Safety.Rails;
using ChatPlatform.Safety.Training;

namespace ChatPlatform.Safety.Evaluation;

/// <summary>Recall and false-positive rate averaged over the sources that had lines to measure them on.</summary>
public sealed record MeanScores(
    [property: JsonPropertyName("recall")] double? Recall,
    [property: JsonPropertyName("fpr")] double? Fpr,
    [property: JsonPropertyName("sources_recall")] int SourcesWithPositives,
    [property: JsonPropertyName("sources_fpr")] int SourcesWithNegatives);

/// <summary>Pooled recall and false-positive rate of a family in one language if its threshold were <see cref="Threshold"/>.</summary>
public sealed record ThresholdPoint(
    [property: JsonPropertyName("threshold")] double Threshold,
    [property: JsonPropertyName("recall")] double Recall,
    [property: JsonPropertyName("fpr")] double Fpr);

/// <summary>What <c>chatplatform safety eval --cross-source</c> prints and writes as JSON.</summary>
public sealed record CrossSourceReport(
    [property: JsonPropertyName("sources")] IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyDictionary<string, EvalScores>>> Sources,
    [property: JsonPropertyName("pooled")] IReadOnlyDictionary<string, IReadOnlyDictionary<string, EvalScores>> Pooled,
    [property: JsonPropertyName("mean")] IReadOnlyDictionary<string, IReadOnlyDictionary<string, MeanScores>> Mean,
    [property: JsonPropertyName("thresholds")] IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<ThresholdPoint>>> Thresholds,
    [property: JsonPropertyName("fpr_on_other_families")] IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> FprOnOtherFamilies)
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public string ToJson() => JsonSerializer.Serialize(this, s_json);
}

/// <summary>
/// Leave-one-source-out evaluation: for each source of the corpus, the classifiers are trained on every other source
/// and the rails (lexicons included) score the left-out one at their default thresholds. Generalisation to messages
/// nobody tuned on is what this estimates; in-sample scores say little about it.
/// </summary>
public static class CrossSourceEvaluator
{
    /// <param name="onError">Called for each misclassified line with the family's finding (lexicon match and score).</param>
    /// <param name="onFalseAlarm">Called when another family fires on an ordinary line (the line, that family, its finding).</param>
    /// <param name="leaveOut">The sources to leave out in turn; null or empty for every source. A quick check of a change on
    /// the sources it matters to; the pooled and mean figures then cover those sources only.</param>
    /// <param name="wordClasses">The word classes the items were prepared with (see <see cref="SafetyTrainer.Prepare"/>).</param>
    public static CrossSourceReport Run(IReadOnlyList<PreparedItem> items, string safetyDirectory, ISentenceEmbedder? embedder,
        Action<string>? log = null, Action<EvalItem, DetectionResult>? onError = null, Action<EvalItem, string, DetectionResult>? onFalseAlarm = null,
        IReadOnlyCollection<string>? leaveOut = null, WordClasses? wordClasses = null)
    {
        var sources = items.Select(i => i.Item.Source).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (sources.Count < 2) throw new ArgumentException($"cross-source evaluation needs at least two sources; the corpus has {sources.Count}", nameof(items));
        if (leaveOut is { Count: > 0 })
        {
            var unknown = leaveOut.Where(s => !sources.Contains(s, StringComparer.Ordinal)).ToList();
            if (unknown.Count > 0)
                throw new ArgumentException($"no source named {string.Join(", ", unknown.Select(s => $"'{s}'"))} in the corpus; its sources are {string.Join(", ", sources)}", nameof(leaveOut));
            sources = [.. sources.Where(leaveOut.Contains)];
        }
        var perSource = new SortedDictionary<string, IReadOnlyDictionary<string, IReadOnlyDictionary<string, EvalScores>>>(StringComparer.Ordinal);
        var pooled = new List<(EvalItem, bool)>();
        var findings = new List<(EvalItem Item, DetectionResult Finding)>();
        var all = new List<(EvalItem Item, RailFindings Findings)>();
        foreach (var source in sources)
        {
            var model = SafetyTrainer.Train([.. items.Where(i => i.Item.Source != source)], embedder, wordClasses: wordClasses);
            var rails = new InputRails(SafetyRules.Load(safetyDirectory, model));
            var outcomes = new List<(EvalItem, bool)>();
            foreach (var prepared in items.Where(i => i.Item.Source == source))
            {
                var text = prepared.Item.Text;
                var message = model.Analyze(text, rails.Rules.Normalizer, prepared.Embedding);
                var railFindings = rails.Inspect(message, text);
                all.Add((prepared.Item, railFindings));
                if (!prepared.Item.Positive)
                    foreach (var family in SafetyFamilies.Classified.Where(f => f != prepared.Item.Family && railFindings.Fired(f)))
                        onFalseAlarm?.Invoke(prepared.Item, family, railFindings.For(family));
                var finding = railFindings.For(prepared.Item.Family);
                if (finding.Fired != prepared.Item.Positive) onError?.Invoke(prepared.Item, finding);
                findings.Add((prepared.Item, finding));
                outcomes.Add((prepared.Item, finding.Fired));
            }
            perSource[source] = SafetyEvaluator.Score(outcomes);
            pooled.AddRange(outcomes);
            log?.Invoke($"left out {source}: {outcomes.Count} lines scored");
        }
        return new CrossSourceReport(perSource, SafetyEvaluator.Score(pooled), Mean(perSource.Values), Sweep(findings), OtherFamilies(all));
    }

    /// <summary>
    /// How often each classified family fires on ordinary lines of the other families (a benign request, an
    /// ordinary health question): false alarms that no family's own negatives count.
    /// </summary>
    private static SortedDictionary<string, IReadOnlyDictionary<string, double>> OtherFamilies(List<(EvalItem Item, RailFindings Findings)> all)
    {
        var result = new SortedDictionary<string, IReadOnlyDictionary<string, double>>(StringComparer.Ordinal);
        foreach (var family in SafetyFamilies.Classified)
        {
            var ordinary = all.Where(a => a.Item.Family != family && !a.Item.Positive).ToList();
            if (ordinary.Count == 0) continue;
            result[family] = ordinary.GroupBy(a => a.Item.Lang).Prepend(ordinary.GroupBy(_ => "all").Single())
                .ToDictionary(g => g.Key, g => Math.Round(g.Count(a => a.Findings.Fired(family)) / (double)g.Count(), 4));
        }
        return result;
    }

    /// <summary>What each classified family would have scored at other thresholds (the lexicons decide as before).</summary>
    private static SortedDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<ThresholdPoint>>> Sweep(List<(EvalItem Item, DetectionResult Finding)> findings)
    {
        var sweep = new SortedDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<ThresholdPoint>>>(StringComparer.Ordinal);
        foreach (var family in findings.Where(f => SafetyFamilies.Classified.Contains(f.Item.Family)).GroupBy(f => f.Item.Family))
        {
            var langs = new SortedDictionary<string, IReadOnlyList<ThresholdPoint>>(StringComparer.Ordinal);
            foreach (var lang in family.GroupBy(f => f.Item.Lang))
            {
                var points = new List<ThresholdPoint>();
                for (var t = 0.1; t < 0.951; t += 0.05)
                {
                    int tp = 0, fn = 0, fp = 0, tn = 0;
                    foreach (var (item, f) in lang)
                    {
                        var fired = Detector.Fires(f.Lexicon, f.Score, (float)t);
                        if (item.Positive) { if (fired) tp++; else fn++; }
                        else if (fired) fp++;
                        else tn++;
                    }
                    var s = EvalScores.From(tp, fp, fn, tn);
                    points.Add(new ThresholdPoint(Math.Round(t, 2), s.Recall, s.Fpr));
                }
                langs[lang.Key] = points;
            }
            sweep[family.Key] = langs;
        }
        return sweep;
    }

    private static SortedDictionary<string, IReadOnlyDictionary<string, MeanScores>> Mean(IEnumerable<IReadOnlyDictionary<string, IReadOnlyDictionary<string, EvalScores>>> reports)
    {
        var cells = new Dictionary<(string Family, string Lang), (List<double> Recall, List<double> Fpr)>();
        foreach (var report in reports)
            foreach (var (family, langs) in report)
                foreach (var (lang, s) in langs)
                {
                    if (!cells.TryGetValue((family, lang), out var cell)) cells[(family, lang)] = cell = ([], []);
                    if (s.Tp + s.Fn > 0) cell.Recall.Add(s.Exact.Recall);
                    if (s.Fp + s.Tn > 0) cell.Fpr.Add(s.Exact.Fpr);
                }
        var mean = new SortedDictionary<string, IReadOnlyDictionary<string, MeanScores>>(StringComparer.Ordinal);
        foreach (var group in cells.GroupBy(c => c.Key.Family))
            mean[group.Key] = group.OrderBy(c => c.Key.Lang == "all" ? "" : c.Key.Lang, StringComparer.Ordinal).ToDictionary(
                c => c.Key.Lang,
                c => new MeanScores(
                    c.Value.Recall.Count == 0 ? null : Math.Round(c.Value.Recall.Average(), 4),
                    c.Value.Fpr.Count == 0 ? null : Math.Round(c.Value.Fpr.Average(), 4),
                    c.Value.Recall.Count, c.Value.Fpr.Count));
        return mean;
    }
}
