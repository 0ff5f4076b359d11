using System.Numerics;

namespace ChatPlatform.Safety.Detection;

/// <summary>A classifier on sentence embeddings: the embedding logit a family's combiner weighs.</summary>
public interface IEmbeddingHead
{
    int Dimensions { get; }

    float Logit(ReadOnlySpan<float> x);
}

/// <summary>
/// How a head is stored in the weights file: a byte naming its kind, then its own layout. Every kind of head is
/// named here and nowhere else.
/// </summary>
internal static class EmbeddingHeads
{
    private const byte Linear = 0;
    private const byte HiddenLayer = 1;

    public static void Write(BinaryWriter writer, IEmbeddingHead head)
    {
        switch (head)
        {
            case DenseLogisticRegression linear:
                writer.Write(Linear);
                linear.Write(writer);
                break;
            case MlpHead mlp:
                writer.Write(HiddenLayer);
                mlp.Write(writer);
                break;
            default:
                throw new InvalidOperationException($"no file layout for a {head.GetType().Name}");
        }
    }

    public static IEmbeddingHead Read(BinaryReader reader, int dimensions, string what) => reader.ReadByte() switch
    {
        Linear => DenseLogisticRegression.Read(reader, dimensions, what),
        HiddenLayer => MlpHead.Read(reader, dimensions, what),
        var kind => throw new FormatException($"{what} is of unknown kind {kind}"),
    };
}

/// <summary>
/// A head with one hidden layer of rectified units and a logistic output, for a family whose phenomenon is not one
/// direction of the embedding space. A request for harm and a question about protection from it sit close together
/// (they share the topic), and what parts them is how the topic combines with the request; a linear head cannot
/// read that. Deterministic: a fixed seed, one pass order per epoch.
/// </summary>
public sealed class MlpHead : IEmbeddingHead
{
    private readonly float[][] _hidden;
    private readonly float[] _hiddenBias;
    private readonly float[] _output;
    private float _outputBias;

    private MlpHead(int dimensions, int units)
    {
        _hidden = [.. Enumerable.Range(0, units).Select(_ => new float[dimensions])];
        _hiddenBias = new float[units];
        _output = new float[units];
    }

    public int Dimensions => _hidden.Length == 0 ? 0 : _hidden[0].Length;

    public int Units => _hidden.Length;

    /// <summary>
    /// Stochastic gradient descent on the weighted, class-balanced log loss, with an L2 penalty on every weight
    /// (applied to a hidden unit's weights when it is active, as their gradient is).
    /// </summary>
    public static MlpHead Train(IReadOnlyList<(float[] X, bool Positive, float Weight)> examples, int dimensions,
        int units = 64, int epochs = 15, float learningRate = 0.05f, float l2 = 1e-4f, int seed = 20261207)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(units, 1);
        var model = new MlpHead(dimensions, units);
        var random = new Random(seed);
        // Glorot-uniform start: rectified units that begin in their linear range on unit-length embeddings.
        var hiddenRange = MathF.Sqrt(6f / (dimensions + units));
        var outputRange = MathF.Sqrt(6f / (units + 1));
        for (var j = 0; j < units; j++)
        {
            for (var d = 0; d < dimensions; d++) model._hidden[j][d] = (float)(random.NextDouble() * 2 - 1) * hiddenRange;
            model._output[j] = (float)(random.NextDouble() * 2 - 1) * outputRange;
        }
        if (examples.Count == 0) return model;

        if (examples.FirstOrDefault(e => e.X.Length != dimensions).X is { } wrong)
            throw new ArgumentException($"expected {dimensions} inputs, got {wrong.Length}", nameof(examples));
        var (positiveWeight, negativeWeight) = NgramClassifier.ClassWeights(examples.Select(e => (e.Positive, e.Weight)));
        var order = Enumerable.Range(0, examples.Count).ToArray();
        var activation = new float[units];
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            random.Shuffle(order);
            var rate = learningRate / (1 + epoch * 0.1f);
            var decay = 1 - rate * l2;
            foreach (var i in order)
            {
                var (x, positive, weight) = examples[i];
                var z = model.Forward(x, activation);
                var g = (NgramClassifier.Sigmoid(z) - (positive ? 1f : 0f)) * weight * (positive ? positiveWeight : negativeWeight) * rate;
                for (var j = 0; j < units; j++)
                {
                    var gj = activation[j] > 0 ? g * model._output[j] : 0f;
                    model._output[j] = model._output[j] * decay - g * activation[j];
                    if (gj == 0) continue;
                    ScaleAndSubtract(model._hidden[j], decay, gj, x);
                    model._hiddenBias[j] -= gj;
                }
                model._outputBias -= g;
            }
        }
        return model;
    }

    public float Logit(ReadOnlySpan<float> x)
    {
        if (x.Length != Dimensions) throw new ArgumentException($"expected {Dimensions} inputs, got {x.Length}", nameof(x));
        return Forward(x, stackalloc float[Units]);
    }

    /// <summary>The output logit, leaving each hidden unit's rectified activation in <paramref name="activation"/>.</summary>
    private float Forward(ReadOnlySpan<float> x, Span<float> activation)
    {
        var z = _outputBias;
        for (var j = 0; j < _hidden.Length; j++)
        {
            var a = _hiddenBias[j] + Dot(_hidden[j], x);
            activation[j] = a > 0 ? a : 0;
            z += _output[j] * activation[j];
        }
        return z;
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var width = Vector<float>.Count;
        var sum = Vector<float>.Zero;
        var d = 0;
        for (; d <= a.Length - width; d += width) sum += new Vector<float>(a[d..]) * new Vector<float>(b[d..]);
        var total = Vector.Sum(sum);
        for (; d < a.Length; d++) total += a[d] * b[d];
        return total;
    }

    /// <summary><paramref name="w"/> = <paramref name="w"/> × <paramref name="decay"/> − <paramref name="g"/> × <paramref name="x"/>.</summary>
    private static void ScaleAndSubtract(Span<float> w, float decay, float g, ReadOnlySpan<float> x)
    {
        var width = Vector<float>.Count;
        var decays = new Vector<float>(decay);
        var gs = new Vector<float>(g);
        var d = 0;
        for (; d <= w.Length - width; d += width) (new Vector<float>(w[d..]) * decays - gs * new Vector<float>(x[d..])).CopyTo(w[d..]);
        for (; d < w.Length; d++) w[d] = w[d] * decay - g * x[d];
    }

    internal void Write(BinaryWriter writer)
    {
        writer.Write(Dimensions);
        writer.Write(Units);
        writer.Write(_outputBias);
        for (var j = 0; j < Units; j++)
        {
            writer.Write(_hiddenBias[j]);
            writer.Write(_output[j]);
            foreach (var w in _hidden[j]) writer.Write(w);
        }
    }

    internal static MlpHead Read(BinaryReader reader, int expectedDimensions, string what)
    {
        var dimensions = reader.ReadInt32();
        if (dimensions != expectedDimensions)
            throw new FormatException($"{what} has {dimensions} inputs; this build expects {expectedDimensions}");
        var units = reader.ReadInt32();
        if (units is < 1 or > 4096) throw new FormatException($"{what} has {units} hidden units");
        var model = new MlpHead(dimensions, units) { _outputBias = reader.ReadSingle() };
        for (var j = 0; j < units; j++)
        {
            model._hiddenBias[j] = reader.ReadSingle();
            model._output[j] = reader.ReadSingle();
            for (var d = 0; d < dimensions; d++) model._hidden[j][d] = reader.ReadSingle();
        }
        return model;
    }
}
