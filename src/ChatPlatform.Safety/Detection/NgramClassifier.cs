using ChatPlatform.Safety.Text;

namespace ChatPlatform.Safety.Detection;

/// <summary>Hashed n-gram features of one normalised text: distinct keys, each with the same value (binary, L2-normalised).</summary>
public readonly record struct NgramFeatures(int[] Keys, float Value);

/// <summary>
/// A binary logistic regression over hashed character n-grams (1–3 for Chinese, 2–4 for Latin text), word
/// uni/bigrams of the normalised text, and the <see cref="WordClasses"/> of its Chinese words, alone and in pairs.
/// Character n-grams memorise the phrasing of their training sources, so a family's score never rests on this alone:
/// <see cref="FamilyModel"/> weighs it against sentence embeddings and structural cues by how well it held on sources
/// it was not trained on.
/// </summary>
public sealed class NgramClassifier
{
    public const int Bits = 18;
    private const int Mask = (1 << Bits) - 1;
    private readonly float[] _weights = new float[1 << Bits];
    private float _bias;

    /// <summary>Trains on normalised texts with their labels (true = the phenomenon).</summary>
    public static NgramClassifier Train(IReadOnlyList<(string Normalized, bool Positive)> examples, int epochs = 40, float learningRate = 0.5f, float l2 = 1e-5f) =>
        Train(examples.Select(e => (Features(e.Normalized), e.Positive, 1f)).ToList(), epochs, learningRate, l2);

    /// <summary>
    /// Trains on precomputed features with a weight per example (1 = ordinary). Classes are balanced by weight;
    /// training is deterministic (fixed shuffle seed).
    /// </summary>
    public static NgramClassifier Train(IReadOnlyList<(NgramFeatures Features, bool Positive, float Weight)> examples, int epochs = 40, float learningRate = 0.5f, float l2 = 1e-5f)
    {
        var model = new NgramClassifier();
        if (examples.Count == 0) return model;
        var (positiveWeight, negativeWeight) = ClassWeights(examples.Select(e => (e.Positive, e.Weight)));
        var order = Enumerable.Range(0, examples.Count).ToArray();
        var random = new Random(20261129);
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            random.Shuffle(order);
            var rate = learningRate / (1 + epoch * 0.2f);
            foreach (var i in order)
            {
                var ((keys, value), positive, weight) = examples[i];
                var p = model.Probability(keys, value);
                var y = positive ? 1f : 0f;
                var g = (p - y) * weight * (positive ? positiveWeight : negativeWeight) * rate;
                foreach (var k in keys)
                    model._weights[k] -= g * value + rate * l2 * model._weights[k];
                model._bias -= g;
            }
        }
        return model;
    }

    /// <summary>Per-class multipliers that give both classes the same total weight.</summary>
    internal static (float Positive, float Negative) ClassWeights(IEnumerable<(bool Positive, float Weight)> examples)
    {
        double positives = 0, negatives = 0;
        foreach (var (positive, weight) in examples)
        {
            if (positive) positives += weight;
            else negatives += weight;
        }
        var total = positives + negatives;
        return (positives == 0 ? 1f : (float)(total / (2 * positives)), negatives == 0 ? 1f : (float)(total / (2 * negatives)));
    }

    /// <summary>Probability that the normalised text shows the phenomenon.</summary>
    public float Score(string normalized) => Sigmoid(Logit(Features(normalized)));

    public float Logit(NgramFeatures features)
    {
        var z = _bias;
        foreach (var k in features.Keys) z += _weights[k] * features.Value;
        return z;
    }

    private float Probability(int[] keys, float value) => Sigmoid(Logit(new NgramFeatures(keys, value)));

    internal static float Sigmoid(float z) => 1f / (1f + MathF.Exp(-z));

    /// <summary>Distinct hashed features of a normalised text; with <paramref name="classes"/>, also its Chinese words' classes.</summary>
    public static NgramFeatures Features(string text, WordClasses? classes = null)
    {
        var keys = new HashSet<int>();
        if (classes is not null)
        {
            var ids = classes.Classes(text);
            for (var w = 0; w < ids.Count; w++)
            {
                keys.Add(Hash([(char)ids[w]], 13));
                if (w + 1 < ids.Count) keys.Add(Hash([(char)ids[w], (char)ids[w + 1]], 14));
            }
        }
        var padded = " " + text + " ";
        for (var i = 0; i < padded.Length; i++)
        {
            var cjk = TextNormalizer.IsCjk(padded[i]);
            var (min, max) = cjk ? (1, 3) : (2, 4);
            for (var n = min; n <= max && i + n <= padded.Length; n++)
                keys.Add(Hash(padded.AsSpan(i, n), n));
        }
        var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        for (var w = 0; w < words.Length; w++)
        {
            keys.Add(Hash(words[w], 11));
            if (w + 1 < words.Length) keys.Add(Hash(words[w] + " " + words[w + 1], 12));
        }
        var value = keys.Count == 0 ? 0f : 1f / MathF.Sqrt(keys.Count);
        return new NgramFeatures([.. keys], value);
    }

    /// <summary>How many weights the file keeps: those that matter (see <see cref="Stored"/>).</summary>
    internal int StoredWeights => _weights.Count(Stored);

    /// <summary>Whether a weight is written to the file: smaller ones change no score.</summary>
    private static bool Stored(float weight) => MathF.Abs(weight) >= 1e-5f;

    /// <summary>
    /// Writes the weights that matter (|w| ≥ 1e-5): each as the distance from the previous one's index (7 bits a
    /// byte) and the weight as a half-precision float: about 3 bytes a weight where index/float pairs took 8. Half
    /// precision keeps three significant digits, far finer than any threshold: trained from the same corpora, a file of
    /// each kind gave the same counts in every family over the development split.
    /// </summary>
    internal void Write(BinaryWriter writer)
    {
        writer.Write(Bits);
        writer.Write(_bias);
        writer.Write(StoredWeights);
        var previous = -1;
        for (var i = 0; i < _weights.Length; i++)
        {
            if (!Stored(_weights[i])) continue;
            writer.Write7BitEncodedInt(i - previous);
            writer.Write((Half)_weights[i]);
            previous = i;
        }
    }

    internal static NgramClassifier Read(BinaryReader reader)
    {
        var bits = reader.ReadInt32();
        if (bits != Bits) throw new FormatException($"n-gram table has {bits} hash bits; this build reads {Bits}");
        var model = new NgramClassifier { _bias = reader.ReadSingle() };
        var count = reader.ReadInt32();
        if (count < 0 || count > model._weights.Length) throw new FormatException($"n-gram table claims {count} weights");
        var index = -1;
        for (var i = 0; i < count; i++)
        {
            var step = reader.Read7BitEncodedInt();
            if (step <= 0 || step > model._weights.Length - 1 - index) throw new FormatException($"n-gram weight index {(long)index + step} out of range");
            index += step;
            model._weights[index] = (float)reader.ReadHalf();
        }
        return model;
    }

    private static int Hash(ReadOnlySpan<char> s, int salt)
    {
        // FNV-1a: stable across runs and processes, unlike string.GetHashCode.
        var h = 2166136261u ^ (uint)salt;
        foreach (var c in s)
        {
            h = (h ^ c) * 16777619u;
            h = (h ^ (uint)(c >> 8)) * 16777619u;
        }
        return (int)(h & Mask);
    }
}
