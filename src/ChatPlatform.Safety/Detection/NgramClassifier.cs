using ChatPlatform.Safety.Text;

namespace ChatPlatform.Safety.Detection;

/// <summary>
/// A small binary logistic regression over hashed character n-grams (1–3 for Chinese, 2–4 for Latin text)
/// and word uni/bigrams of the normalised text. Trained in well under a second from the examples under
/// <c>safety/examples/</c>, so no model file is shipped; training is deterministic.
/// </summary>
public sealed class NgramClassifier
{
    private const int Bits = 18;
    private const int Mask = (1 << Bits) - 1;
    private readonly float[] _weights = new float[1 << Bits];
    private float _bias;

    /// <summary>Trains on normalised texts with their labels (true = the phenomenon).</summary>
    public static NgramClassifier Train(IReadOnlyList<(string Normalized, bool Positive)> examples, int epochs = 40, float learningRate = 0.5f, float l2 = 1e-5f)
    {
        var model = new NgramClassifier();
        if (examples.Count == 0) return model;
        var features = examples.Select(e => Features(e.Normalized)).ToArray();
        var positives = examples.Count(e => e.Positive);
        var negatives = examples.Count - positives;
        // Balance the classes so a rare phenomenon is not drowned out.
        var positiveWeight = positives == 0 ? 1f : (float)examples.Count / (2 * positives);
        var negativeWeight = negatives == 0 ? 1f : (float)examples.Count / (2 * negatives);
        var order = Enumerable.Range(0, examples.Count).ToArray();
        var random = new Random(20261129);
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            random.Shuffle(order);
            var rate = learningRate / (1 + epoch * 0.2f);
            foreach (var i in order)
            {
                var (keys, value) = features[i];
                var p = model.Probability(keys, value);
                var y = examples[i].Positive ? 1f : 0f;
                var g = (p - y) * (examples[i].Positive ? positiveWeight : negativeWeight) * rate;
                foreach (var k in keys)
                    model._weights[k] -= g * value + rate * l2 * model._weights[k];
                model._bias -= g;
            }
        }
        return model;
    }

    /// <summary>Probability that the normalised text shows the phenomenon.</summary>
    public float Score(string normalized)
    {
        var (keys, value) = Features(normalized);
        return Probability(keys, value);
    }

    private float Probability(int[] keys, float value)
    {
        var z = _bias;
        foreach (var k in keys) z += _weights[k] * value;
        return 1f / (1f + MathF.Exp(-z));
    }

    /// <summary>Distinct hashed features; every feature has the same value (binary, L2-normalised).</summary>
    internal static (int[] Keys, float Value) Features(string text)
    {
        var keys = new HashSet<int>();
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
        return ([.. keys], value);
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
