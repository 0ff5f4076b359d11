namespace ChatPlatform.Safety.Detection;

/// <summary>
/// A small dense logistic regression: the head on sentence embeddings, and the combiner that turns a family's
/// pieces (n-gram score, embedding score, structural cues) into one calibrated probability. Deterministic.
/// </summary>
public sealed class DenseLogisticRegression : IEmbeddingHead
{
    private readonly float[] _weights;
    private float _bias;

    private DenseLogisticRegression(int dimensions) => _weights = new float[dimensions];

    public int Dimensions => _weights.Length;

    /// <summary>The weight of input <paramref name="i"/> (for reports and tests).</summary>
    public float Weight(int i) => _weights[i];

    /// <param name="positiveShare">The share of the total weight the positive class gets (0.5: balanced). Below 0.5 a
    /// text with little evidence either way scores below 0.5, as most messages show none of the phenomenon.</param>
    public static DenseLogisticRegression Train(IReadOnlyList<(float[] X, bool Positive, float Weight)> examples, int dimensions,
        int epochs = 60, float learningRate = 0.1f, float l2 = 1e-3f, float positiveShare = 0.5f)
    {
        var model = new DenseLogisticRegression(dimensions);
        if (examples.Count == 0) return model;
        var (positiveWeight, negativeWeight) = NgramClassifier.ClassWeights(examples.Select(e => (e.Positive, e.Weight)));
        positiveWeight *= 2 * positiveShare;
        negativeWeight *= 2 * (1 - positiveShare);
        var order = Enumerable.Range(0, examples.Count).ToArray();
        var random = new Random(20261206);
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            random.Shuffle(order);
            var rate = learningRate / (1 + epoch * 0.1f);
            foreach (var i in order)
            {
                var (x, positive, weight) = examples[i];
                var g = (NgramClassifier.Sigmoid(model.Logit(x)) - (positive ? 1f : 0f)) * weight * (positive ? positiveWeight : negativeWeight) * rate;
                for (var d = 0; d < model._weights.Length; d++)
                    model._weights[d] -= g * x[d] + rate * l2 * model._weights[d];
                model._bias -= g;
            }
        }
        return model;
    }

    public float Logit(ReadOnlySpan<float> x)
    {
        if (x.Length != _weights.Length) throw new ArgumentException($"expected {_weights.Length} inputs, got {x.Length}", nameof(x));
        var z = _bias;
        for (var d = 0; d < x.Length; d++) z += _weights[d] * x[d];
        return z;
    }

    public float Probability(ReadOnlySpan<float> x) => NgramClassifier.Sigmoid(Logit(x));

    internal void Write(BinaryWriter writer)
    {
        writer.Write(_weights.Length);
        writer.Write(_bias);
        foreach (var w in _weights) writer.Write(w);
    }

    internal static DenseLogisticRegression Read(BinaryReader reader, int expectedDimensions, string what)
    {
        var dimensions = reader.ReadInt32();
        if (dimensions != expectedDimensions)
            throw new FormatException($"{what} has {dimensions} inputs; this build expects {expectedDimensions}");
        var model = new DenseLogisticRegression(dimensions) { _bias = reader.ReadSingle() };
        for (var d = 0; d < dimensions; d++) model._weights[d] = reader.ReadSingle();
        return model;
    }
}
