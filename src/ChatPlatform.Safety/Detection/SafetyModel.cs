using System.Text;
using System.Text.RegularExpressions;
using ChatPlatform.Core.IO;
using ChatPlatform.Safety.Text;

namespace ChatPlatform.Safety.Detection;

/// <summary>What the classifiers see of one message: computed once and shared by every family.</summary>
public sealed class MessageAnalysis
{
    private readonly SafetyModel? _model;
    private readonly string _raw;
    private readonly Lazy<string?> _ownWords;
    private readonly Lazy<bool> _speaksOfSelf;
    private readonly Lazy<string[]> _clauses;
    private float[]? _embedding;
    private bool _embedded;

    internal MessageAnalysis(SafetyModel? model, string raw, TextNormalizer normalizer, float[]? embedding = null)
    {
        (_embedding, _embedded) = (embedding, embedding is not null);
        _model = model;
        _raw = raw;
        Normalized = normalizer.Normalize(raw);
        Ngrams = NgramClassifier.Features(Normalized, model?.WordClasses);
        Cues = Detection.Cues.Compute(Normalized);
        // Read only when a crisis cue matched, which most messages never do.
        _ownWords = new(() => ReportedSpeech.OwnWords(raw, normalizer));
        _speaksOfSelf = new(() => Detection.Cues.SpeaksOfSelf(OwnWords ?? Normalized));
        _clauses = new(() => [.. ReportedSpeech.Clauses(raw).Select(normalizer.Normalize).Where(c => c.Length > 0)]);
    }

    public string Normalized { get; }

    /// <summary>The normalised text without the words it reports from others; null when it reports none (see <see cref="ReportedSpeech"/>).</summary>
    public string? OwnWords => _ownWords.Value;

    public NgramFeatures Ngrams { get; }

    public float[] Cues { get; }

    /// <summary>Whether the writer speaks of themself in their own words (see <see cref="Detection.Cues.SpeaksOfSelf"/>).</summary>
    public bool SpeaksOfSelf => _speaksOfSelf.Value;

    /// <summary>The message's clauses, each normalised; computed on first use (see <see cref="Detection.Cues.SaidOfOthers"/>).</summary>
    public IReadOnlyList<string> Clauses => _clauses.Value;

    /// <summary>The sentence embedding, computed on first use; null when no embedder is loaded or it does not cover the text.</summary>
    public float[]? Embedding
    {
        get
        {
            if (!_embedded)
            {
                _embedding = _model?.Embed(_raw);
                _embedded = true;
            }
            return _embedding;
        }
    }
}

/// <summary>
/// One family's classifier: an n-gram logistic regression, a head on sentence embeddings (<see cref="IEmbeddingHead"/>),
/// and a combiner over their scores and the structural <see cref="Cues"/>. The combiner is trained on scores the pieces
/// gave to sources they were not trained on, so it trusts each piece as far as it generalised. A second combiner
/// without the embedding serves when the embedder is missing or does not cover the language.
/// </summary>
public sealed class FamilyModel
{
    public required string Family { get; init; }
    public required NgramClassifier Ngram { get; init; }
    public IEmbeddingHead? EmbeddingHead { get; init; }
    public required DenseLogisticRegression Combiner { get; init; }
    public DenseLogisticRegression? CombinerWithEmbedding { get; init; }

    /// <summary>
    /// Inputs of a combiner: the n-gram logit, the embedding logit (only in the combiner with the embedding), the cues,
    /// whether the family's lexicon matched a weak cue, and last whether one of its exclusions matched (a figure of
    /// speech, someone else, a question about the topic). Both are evidence to weigh, not a verdict.
    /// </summary>
    public static float[] CombinerInputs(float ngramLogit, float? embeddingLogit, float[] cues, bool weakCue = false, bool excluded = false)
    {
        var offset = embeddingLogit is null ? 1 : 2;
        var x = new float[offset + cues.Length + 2];
        // Logits are scaled to the cues' range so one learning rate suits every input.
        x[0] = Math.Clamp(ngramLogit, -12f, 12f) / 4f;
        if (embeddingLogit is { } e) x[1] = Math.Clamp(e, -12f, 12f) / 4f;
        cues.CopyTo(x, offset);
        x[^2] = weakCue ? 1f : 0f;
        x[^1] = excluded ? 1f : 0f;
        return x;
    }

    /// <summary>The number of inputs of <see cref="Combiner"/>.</summary>
    public static int Inputs => 3 + Cues.Count;

    /// <summary>The number of inputs of <see cref="CombinerWithEmbedding"/>.</summary>
    public static int InputsWithEmbedding => 4 + Cues.Count;

    /// <summary>Whether this classifier reads the message's meaning through the sentence embedder (English, embedder loaded).</summary>
    public bool ReadsMeaning(MessageAnalysis message) => EmbeddingHead is not null && CombinerWithEmbedding is not null && message.Embedding is not null;

    public float Score(MessageAnalysis message, bool weakCue = false, bool excluded = false) =>
        Score(message.Ngrams, message.Cues, EmbeddingHead is null ? null : message.Embedding, weakCue, excluded);

    public float Score(NgramFeatures ngrams, float[] cues, float[]? embedding, bool weakCue = false, bool excluded = false)
    {
        var ngram = Ngram.Logit(ngrams);
        if (EmbeddingHead is not null && CombinerWithEmbedding is not null && embedding is not null)
            return CombinerWithEmbedding.Probability(CombinerInputs(ngram, EmbeddingHead.Logit(embedding), cues, weakCue, excluded));
        return Combiner.Probability(CombinerInputs(ngram, null, cues, weakCue, excluded));
    }
}

/// <summary>
/// The trained classifiers of every family, read from the weights file that <c>chatplatform safety train</c> writes
/// (numbers only: no training text is stored). Layout, little-endian: the magic <c>CPSAFETY</c>, the format version,
/// the embedder's name and dimensions (empty and 0 when trained without one), the Chinese word classes (a flag, then
/// name, count, character simplifications and word hash/class pairs), the cue names, then per family its
/// name, n-gram table (hash bits, bias, count, then per weight the step from the previous index as a 7-bit varint
/// and the weight as a half-precision float), the combiner, and the embedding head (its kind, 0 linear or 1 with a
/// hidden layer, then its weights) with the combiner that weighs it.
/// </summary>
public sealed partial class SafetyModel
{
    public const int FormatVersion = 7;
    private static readonly byte[] s_magic = "CPSAFETY"u8.ToArray();

    public required IReadOnlyDictionary<string, FamilyModel> Families { get; init; }

    /// <summary>The embedder the heads were trained on; empty when trained without embeddings.</summary>
    public string EmbedderName { get; init; } = "";

    public int EmbeddingDimensions { get; init; }

    /// <summary>The embedder in use; null when none is loaded (the combiners without embeddings serve).</summary>
    public ISentenceEmbedder? Embedder { get; init; }

    /// <summary>The classes of Chinese words that the n-gram tables read (see <see cref="Detection.WordClasses"/>); null when trained without them.</summary>
    public WordClasses? WordClasses { get; init; }

    /// <summary>Why the embedder is not in use, for the start-up log; null when it is.</summary>
    public string? EmbedderStatus { get; init; }

    /// <summary>What the classifiers see of <paramref name="raw"/>; <paramref name="embedding"/> when it is computed already (evaluation over prepared corpora).</summary>
    public MessageAnalysis Analyze(string raw, TextNormalizer normalizer, float[]? embedding = null) =>
        new(this, raw, normalizer, Embedder is null ? null : embedding);


    internal float[]? Embed(string raw) => EmbedWith(Embedder, raw);

    /// <summary>The embedding of <paramref name="raw"/>'s window; null without an embedder or outside its language.</summary>
    public static float[]? EmbedWith(ISentenceEmbedder? embedder, string raw) =>
        embedder is null || !embedder.Covers(raw) ? null : embedder.Embed(EmbeddingWindow(raw));

    /// <summary>
    /// The part of a long message that is embedded: the sentence with the most alarming cues (death, self-harm, an
    /// override or output order, hidden instructions, harm to others, illicit means), with its neighbours up to
    /// <see cref="MiniLmEmbedder.MaxChars"/> characters. A death wish in the middle of a long post is what must be
    /// seen, and the embedder's cost grows with length. The choice depends on no trained weight, so training and
    /// serving embed the same window.
    /// </summary>
    public static string EmbeddingWindow(string raw)
    {
        if (raw.Length <= MiniLmEmbedder.MaxChars) return raw;
        var sentences = SentenceBreak().Split(raw).Select(s => s.Trim()).Where(s => s.Length > 0).ToArray();
        if (sentences.Length <= 1) return raw[..MiniLmEmbedder.MaxChars];
        var best = 0;
        var bestScore = -1f;
        for (var i = 0; i < sentences.Length; i++)
        {
            var cues = Detection.Cues.Compute(sentences[i].ToLowerInvariant());
            var score = s_alarming.Sum(c => cues[c]);
            if (score > bestScore) (best, bestScore) = (i, score);
        }
        var window = new StringBuilder(sentences[best]);
        for (var step = 1; window.Length < MiniLmEmbedder.MaxChars && (best - step >= 0 || best + step < sentences.Length); step++)
        {
            if (best + step < sentences.Length) window.Append(' ').Append(sentences[best + step]);
            if (best - step >= 0 && window.Length < MiniLmEmbedder.MaxChars) window.Insert(0, sentences[best - step] + " ");
        }
        return window.Length > MiniLmEmbedder.MaxChars ? window.ToString(0, MiniLmEmbedder.MaxChars) : window.ToString();
    }

    private static readonly int[] s_alarming =
        [.. new[] { "death", "self_harm", "override", "output_order", "hidden_text", "new_role", "harm_other", "illicit" }.Select(n => Detection.Cues.Names.ToList().IndexOf(n))];

    [GeneratedRegex(@"(?<=[.!?。！？\n])\s*")]
    private static partial Regex SentenceBreak();

    public void Save(string path)
    {
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            writer.Write(s_magic);
            writer.Write(FormatVersion);
            writer.Write(EmbedderName);
            writer.Write(EmbeddingDimensions);
            writer.Write(WordClasses is not null);
            WordClasses?.Write(writer);
            writer.Write(Cues.Names.Count);
            foreach (var name in Cues.Names) writer.Write(name);
            writer.Write(Families.Count);
            foreach (var (name, family) in Families.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                writer.Write(name);
                family.Ngram.Write(writer);
                family.Combiner.Write(writer);
                var withEmbedding = family.EmbeddingHead is not null && family.CombinerWithEmbedding is not null;
                writer.Write(withEmbedding);
                if (withEmbedding)
                {
                    EmbeddingHeads.Write(writer, family.EmbeddingHead!);
                    family.CombinerWithEmbedding!.Write(writer);
                }
            }
        });
    }

    /// <summary>
    /// Reads a weights file. <paramref name="embedder"/> is used only when it is the one the heads were trained on;
    /// a file of another format version, or one trained with other cues, names itself in a <see cref="FormatException"/>.
    /// </summary>
    public static SafetyModel Load(string path, ISentenceEmbedder? embedder, string? embedderError = null)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            if (!reader.ReadBytes(s_magic.Length).AsSpan().SequenceEqual(s_magic))
                throw new FormatException("not a safety weights file (no CPSAFETY header)");
            var version = reader.ReadInt32();
            if (version != FormatVersion)
                throw new FormatException($"format version {version}; this build reads version {FormatVersion}: run 'chatplatform safety train' to rebuild it");
            var embedderName = reader.ReadString();
            var dimensions = reader.ReadInt32();
            var wordClasses = reader.ReadBoolean() ? WordClasses.Read(reader) : null;
            var cueCount = reader.ReadInt32();
            var cueNames = Enumerable.Range(0, cueCount).Select(_ => reader.ReadString()).ToList();
            if (!cueNames.SequenceEqual(Cues.Names))
                throw new FormatException("trained with other structural cues than this build computes: run 'chatplatform safety train' to rebuild it");
            var families = new Dictionary<string, FamilyModel>(StringComparer.Ordinal);
            var count = reader.ReadInt32();
            for (var i = 0; i < count; i++)
            {
                var name = reader.ReadString();
                var ngram = NgramClassifier.Read(reader);
                var combiner = DenseLogisticRegression.Read(reader, FamilyModel.Inputs, $"{name} combiner");
                IEmbeddingHead? head = null;
                DenseLogisticRegression? withEmbedding = null;
                if (reader.ReadBoolean())
                {
                    head = EmbeddingHeads.Read(reader, dimensions, $"{name} embedding head");
                    withEmbedding = DenseLogisticRegression.Read(reader, FamilyModel.InputsWithEmbedding, $"{name} combiner with embedding");
                }
                families[name] = new FamilyModel { Family = name, Ngram = ngram, Combiner = combiner, EmbeddingHead = head, CombinerWithEmbedding = withEmbedding };
            }
            if (stream.Position != stream.Length) throw new FormatException("trailing bytes after the last family");

            var usable = embedder is not null && embedderName.Length > 0 && embedder.Name == embedderName && embedder.Dimensions == dimensions;
            var status = usable ? null
                : embedderName.Length == 0 ? "the weights were trained without sentence embeddings"
                : embedder is null ? $"sentence embedder {embedderName} not loaded ({embedderError ?? "not requested"})"
                : $"the weights need {embedderName} ({dimensions} dimensions), not {embedder.Name}";
            return new SafetyModel
            {
                Families = families,
                EmbedderName = embedderName,
                EmbeddingDimensions = dimensions,
                WordClasses = wordClasses,
                Embedder = usable ? embedder : null,
                EmbedderStatus = status,
            };
        }
        catch (EndOfStreamException e)
        {
            throw new FormatException($"{path}: the safety weights file is truncated", e);
        }
        catch (FormatException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new FormatException($"{path}: {e.Message}", e);
        }
    }
}
