using ChatPlatform.Safety.Detection;
using ChatPlatform.Safety.Evaluation;
using ChatPlatform.Safety.Rails;
using ChatPlatform.Safety.Text;

namespace ChatPlatform.Safety.Training;

/// <summary>
/// A corpus line with the features the classifiers read, computed once (embeddings are the slow part).
/// <see cref="Lexicons"/> holds how each family's lexicon reads the line, as its <see cref="Detector"/> does.
/// </summary>
public sealed record PreparedItem(EvalItem Item, NgramFeatures Ngrams, float[] Cues, float[]? Embedding, IReadOnlyDictionary<string, LexiconMatch> Lexicons)
{
    /// <summary>Whether the family weighs a weak cue of its lexicon here (the combiner's weak-cue input).</summary>
    public bool HasWeakCue(string family) => SafetyRules.WeighsWeakCues(family) && Lexicons.GetValueOrDefault(family) is LexiconMatch.Weak;

    /// <summary>Whether one of the family's exclusions matched (the combiner's exclusion input).</summary>
    public bool Excluded(string family) => Lexicons.GetValueOrDefault(family) is LexiconMatch.Excluded;
}

/// <summary>
/// Trains every family's classifier (<see cref="FamilyModel"/>) from labelled corpora. Deterministic: the same
/// corpora give the same weights file.
/// <list type="number">
/// <item>Each family's n-gram table and embedding head are trained with the source left out, fold by fold, and
/// score the lines of the left-out sources: how each piece does on a source it never saw.</item>
/// <item>The combiner learns from those scores and the structural cues how far to trust each piece.</item>
/// <item>The n-gram table and the head are trained again on everything for the shipped file.</item>
/// </list>
/// Lines of another family are negatives too (see <see cref="OtherWeights"/>): a crisis rail must stay quiet on a
/// medication question. Harmful requests are the exception for crisis and medical (see <see cref="Confusable"/>).
/// </summary>
public static class SafetyTrainer
{
    private const int MaxFolds = 6;
    /// <summary>
    /// The combiners weigh positives as a third of the data, not a half: a message with no evidence either way ("ok",
    /// "message 1") then scores about 0.33 instead of 0.5, below every threshold.
    /// </summary>
    private const float CombinerPositiveShare = 1f / 3;

    private static readonly string[] s_combinerInputs = ["ngram", .. Cues.Names, "weak_cue", "excluded"];

    /// <param name="lexicons">Each family's lexicon (<see cref="SafetyRules.LoadLexicons"/>), whose weak cues and exclusions are combiner inputs.</param>
    /// <param name="wordClasses">Classes of Chinese words that the n-gram tables also read; null for none.</param>
    public static List<PreparedItem> Prepare(IReadOnlyList<EvalItem> items, TextNormalizer normalizer, IReadOnlyDictionary<string, Lexicon> lexicons,
        ISentenceEmbedder? embedder, Action<int, int>? progress = null, WordClasses? wordClasses = null)
    {
        var prepared = new PreparedItem[items.Count];
        var done = 0;
        Parallel.For(0, items.Count, new ParallelOptions { MaxDegreeOfParallelism = embedder is null ? Environment.ProcessorCount : 1 }, i =>
        {
            var item = items[i];
            var normalized = normalizer.Normalize(item.Text);
            var matches = lexicons.ToDictionary(l => l.Key,
                l => Detector.Read(l.Value, normalized, () => ReportedSpeech.OwnWords(item.Text, normalizer), SafetyRules.WeighsWeakCues(l.Key)).Match, StringComparer.Ordinal);
            prepared[i] = new PreparedItem(item, NgramClassifier.Features(normalized, wordClasses), Cues.Compute(normalized), SafetyModel.EmbedWith(embedder, item.Text), matches);
            var count = Interlocked.Increment(ref done);
            if (count % 250 == 0 || count == items.Count) progress?.Invoke(count, items.Count);
        });
        return [.. prepared];
    }

    /// <param name="wordClasses">The word classes the items' n-gram features were prepared with (<see cref="Prepare"/>); stored with the weights.</param>
    public static SafetyModel Train(IReadOnlyList<PreparedItem> items, ISentenceEmbedder? embedder, Action<string>? log = null, WordClasses? wordClasses = null)
    {
        var withEmbedding = embedder is not null && items.Any(i => i.Embedding is not null);
        var families = new System.Collections.Concurrent.ConcurrentDictionary<string, FamilyModel>(StringComparer.Ordinal);
        // Families are independent: train them side by side (each one's result does not depend on the order).
        Parallel.ForEach(SafetyFamilies.Classified, family =>
        {
            var lines = items.Where(i => !Confusable(i.Item, family)).ToList();
            var groupings = Groupings(lines);
            var otherWeight = OtherWeights(lines, family);
            var examples = lines.Select(i => (Item: i, Positive: i.Item.Family == family && i.Item.Positive, Weight: Own(i.Item, family) ? 1f : otherWeight[i.Item.Family])).ToList();
            if (!examples.Any(e => e.Positive))
            {
                log?.Invoke($"{family}: no positive lines; the family never fires from the classifier");
            }

            // 1. Out-of-fold scores of each piece, once per grouping of the sources into folds.
            var ngramScores = groupings.Select(_ => new float[examples.Count]).ToArray();
            var embeddingScores = groupings.Select(_ => new float[examples.Count]).ToArray();
            for (var g = 0; g < groupings.Count; g++)
            {
                var (inFold, count) = groupings[g];
                for (var fold = 0; fold < count; fold++)
                {
                    var test = Enumerable.Range(0, examples.Count).Where(i => inFold[i] == fold).ToList();
                    if (test.Count == 0) continue;
                    var train = examples.Where((_, i) => inFold[i] != fold).ToList();
                    var ngram = TrainNgram(train, family);
                    foreach (var i in test) ngramScores[g][i] = ngram.Logit(examples[i].Item.Ngrams);
                    if (withEmbedding)
                    {
                        var head = TrainHead(train, embedder!.Dimensions, family);
                        foreach (var i in test)
                            if (examples[i].Item.Embedding is { } e) embeddingScores[g][i] = head.Logit(e);
                    }
                }
            }

            // 2. The combiners, on scores from sources the pieces did not see: each line once per grouping.
            var rows = Enumerable.Range(0, groupings.Count).SelectMany(g => examples.Select((e, i) => (e, i, g))).ToList();
            var combiner = DenseLogisticRegression.Train(
                rows.Select(r => (FamilyModel.CombinerInputs(ngramScores[r.g][r.i], null, r.e.Item.Cues, r.e.Item.HasWeakCue(family), r.e.Item.Excluded(family)), r.e.Positive, r.e.Weight)).ToList(),
                FamilyModel.Inputs, epochs: 40, learningRate: 0.05f, l2: 1e-3f, positiveShare: CombinerPositiveShare);
            DenseLogisticRegression? combinerWithEmbedding = null;
            IEmbeddingHead? finalHead = null;
            if (withEmbedding)
            {
                combinerWithEmbedding = DenseLogisticRegression.Train(
                    rows.Where(r => r.e.Item.Embedding is not null)
                        .Select(r => (FamilyModel.CombinerInputs(ngramScores[r.g][r.i], embeddingScores[r.g][r.i], r.e.Item.Cues, r.e.Item.HasWeakCue(family), r.e.Item.Excluded(family)), r.e.Positive, r.e.Weight)).ToList(),
                    FamilyModel.InputsWithEmbedding, epochs: 40, learningRate: 0.05f, l2: 1e-3f, positiveShare: CombinerPositiveShare);
                finalHead = TrainHead(examples, embedder!.Dimensions, family);
            }

            // 3. The pieces on everything.
            families[family] = new FamilyModel
            {
                Family = family,
                Ngram = TrainNgram(examples, family),
                EmbeddingHead = finalHead,
                Combiner = combiner,
                CombinerWithEmbedding = combinerWithEmbedding,
            };
            log?.Invoke($"{family}: {examples.Count(e => e.Positive)} positive, {examples.Count(e => !e.Positive && e.Item.Item.Family == family)} negative of its own, {groupings.Count} × {groupings[0].Count} folds; combiner weights: "
                + string.Join(", ", s_combinerInputs.Select((n, i) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{n} {combiner.Weight(i):0.00}")))
                + (combinerWithEmbedding is null ? "" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"; with embedding: ngram {combinerWithEmbedding.Weight(0):0.00}, embedding {combinerWithEmbedding.Weight(1):0.00}"))
                + (combinerWithEmbedding is null || !SafetyRules.WeighsWeakCues(family) ? "" : string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $", weak lexicon cue {combinerWithEmbedding.Weight(FamilyModel.InputsWithEmbedding - 2):0.00}"))
                + (combinerWithEmbedding is null ? "" : string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $", exclusion {combinerWithEmbedding.Weight(FamilyModel.InputsWithEmbedding - 1):0.00}")));
        });
        return new SafetyModel
        {
            Families = families.ToDictionary(StringComparer.Ordinal),
            EmbedderName = withEmbedding ? embedder!.Name : "",
            EmbeddingDimensions = withEmbedding ? embedder!.Dimensions : 0,
            Embedder = withEmbedding ? embedder : null,
            WordClasses = wordClasses,
        };
    }

    /// <summary>
    /// The weight of another family's line as a negative, per family. Together those lines weigh as much as the
    /// family's own negatives (at most 1 a line). Own negatives (a third-person report, a question about risks) teach
    /// where the line is; other families' lines teach that ordinary messages are not the phenomenon.
    /// <para>Each other family has an equal share of that weight, so a family with many lines (harmful requests) does
    /// not drown out one with few (health questions), and new lines of one family take weight only from that family.
    /// Measured with every source left out in turn against one weight for all other lines: crisis mean FPR 0.077 →
    /// 0.061 (English) and 0.069 → 0.061 (Chinese) at recall 0.979 → 0.970 and 0.963 → 0.958, injection 0.058 → 0.024
    /// (English) at the same recall.</para>
    /// <para>The harmful family puts all other lines in one share: with equal shares, health questions weighed fully
    /// against it and taught it that questions about drugs and doses are safe, and requests to practise medicine
    /// unethically were caught less often (<c>written-k</c> 77 → 68 of 123).</para>
    /// </summary>
    private static Dictionary<string, float> OtherWeights(List<PreparedItem> items, string family)
    {
        var own = Math.Max(1, items.Count(i => Own(i.Item, family) && !i.Item.Positive));
        var others = items.Where(i => !Own(i.Item, family)).Select(i => i.Item.Family).ToList();
        string Share(string other) => family == SafetyFamilies.Harmful ? "" : other;
        var perShare = others.CountBy(Share, StringComparer.Ordinal).ToDictionary(StringComparer.Ordinal);
        return others.Distinct(StringComparer.Ordinal)
            .ToDictionary(other => other, other => Math.Min(1f, own / (float)(perShare.Count * perShare[Share(other)])), StringComparer.Ordinal);
    }

    /// <summary>
    /// Whether a line counts with full weight for <paramref name="family"/>: its own lines, and the ordinary requests
    /// of the two request families (a benign request is neither an injection nor a request for harm).
    /// </summary>
    private static bool Own(EvalItem item, string family) =>
        item.Family == family || (!item.Positive && s_requestFamilies.Contains(family) && s_requestFamilies.Contains(item.Family));

    /// <summary>
    /// Whether a line is left out of <paramref name="family"/>'s training: a harmful request is no negative of the
    /// crisis or the medical family. A person in crisis may ask for lethal means "for someone else", and a request to
    /// poison or overdose someone names the same substances as an emergency; the harmful rail answers it where these
    /// rails do not fire.
    /// </summary>
    private static bool Confusable(EvalItem item, string family) =>
        item.Family == SafetyFamilies.Harmful && item.Positive && family is SafetyFamilies.Crisis or SafetyFamilies.Medical;

    private static readonly string[] s_requestFamilies = [SafetyFamilies.Injection, SafetyFamilies.Harmful];

    private static NgramClassifier TrainNgram(List<(PreparedItem Item, bool Positive, float Weight)> examples, string family) =>
        NgramClassifier.Train(examples.Select(e => (e.Item.Ngrams, e.Positive, e.Weight)).ToList(), epochs: 30, learningRate: 5f, l2: NgramL2(family));

    /// <summary>
    /// The L2 penalty of a family's n-gram table. A table that is held back from memorising its sources' phrasing
    /// gives the combiner scores that carry over to sources it never saw: measured with every source left out in
    /// turn, 3e-4 against 1e-5 lowered the crisis and injection false alarms at the same recall, and 1e-3 lowered the
    /// harmful ones most. The medical emergency table keeps 1e-5: held back, it lost recall on patient letters.
    /// </summary>
    private static float NgramL2(string family) => family switch
    {
        SafetyFamilies.Medical => 1e-5f,
        SafetyFamilies.Harmful => 1e-3f,
        _ => 3e-4f,
    };

    private static IEmbeddingHead TrainHead(List<(PreparedItem Item, bool Positive, float Weight)> examples, int dimensions, string family)
    {
        var embedded = examples.Where(e => e.Item.Embedding is not null).Select(e => (e.Item.Embedding!, e.Positive, e.Weight)).ToList();
        return s_hiddenLayerHeads.Contains(family)
            ? MlpHead.Train(embedded, dimensions)
            : DenseLogisticRegression.Train(embedded, dimensions, epochs: 40, learningRate: 0.5f, l2: 1e-4f);
    }

    /// <summary>
    /// The families whose embedding head has a hidden layer (<see cref="MlpHead"/>). Left out source by source over 36
    /// sources, against linear heads: English harmful mean recall 0.713 → 0.736 at FPR 0.115 → 0.087, English crisis
    /// 0.947 → 0.958 at 0.075 → 0.071 (with another seed 0.735 / 0.095 and 0.959 / 0.073). The injection head ranked
    /// its lines worse with a hidden layer; the medical emergency head was not tried with one.
    /// </summary>
    private static readonly string[] s_hiddenLayerHeads = [SafetyFamilies.Crisis, SafetyFamilies.Harmful];

    /// <summary>
    /// Groupings of the lines into folds by source: every source whole in one fold (up to six folds), so out-of-fold
    /// scores are scores on unseen sources. Which sources share a fold matters: regrouping the same 32 sources moved the
    /// cross-source figures by up to 0.02 (crisis pooled FPR 0.119 → 0.136, two of three emergencies in a small Chinese
    /// source), as much as many changes that were measured. So the combiners learn from two groupings, and no one of
    /// them decides: sources in sorted order taking turns, and sources by a hash of their name, which stays where it
    /// was when a source is added. With fewer than three sources, one grouping by a hash of the text.
    /// </summary>
    private static List<(int[] Fold, int Count)> Groupings(List<PreparedItem> items)
    {
        var sources = items.Select(i => i.Item.Source).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (sources.Count < 3) return [([.. items.Select(i => (int)(StableHash(i.Item.Text) % 4))], 4)];
        var count = Math.Min(MaxFolds, sources.Count);
        var turns = sources.Select((s, i) => (s, i)).ToDictionary(p => p.s, p => p.i % count, StringComparer.Ordinal);
        var hashed = sources.ToDictionary(s => s, s => (int)(StableHash(s) % (uint)count), StringComparer.Ordinal);
        var groupings = new List<(int[] Fold, int Count)> { ([.. items.Select(i => turns[i.Item.Source])], count) };
        // A hash that puts every source in one fold has nothing to hold out.
        if (hashed.Values.Distinct().Count() > 1) groupings.Add(([.. items.Select(i => hashed[i.Item.Source])], count));
        return groupings;
    }

    private static uint StableHash(string s)
    {
        var h = 2166136261u;
        foreach (var c in s) h = (h ^ c) * 16777619u;
        return h;
    }
}
