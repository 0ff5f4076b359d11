using ChatPlatform.Inference.Training;
using Xunit;

namespace ChatPlatform.Inference.Tests.Training;

public sealed class LowRankTests
{
    /// <summary>A rows × columns matrix of exact rank <paramref name="rank"/> with singular values 2^-i, plus a little noise.</summary>
    private static float[] Matrix(int rows, int columns, int rank, float noise, int seed)
    {
        var random = new Random(seed);
        var m = new float[rows * columns];
        for (var r = 0; r < rank; r++)
        {
            var u = Enumerable.Range(0, rows).Select(_ => random.NextDouble() - 0.5).ToArray();
            var v = Enumerable.Range(0, columns).Select(_ => random.NextDouble() - 0.5).ToArray();
            var s = Math.Pow(2, -r);
            for (var i = 0; i < rows; i++)
                for (var j = 0; j < columns; j++) m[i * columns + j] += (float)(s * u[i] * v[j]);
        }

        for (var i = 0; i < m.Length; i++) m[i] += (float)((random.NextDouble() - 0.5) * noise);
        return m;
    }

    private static double RelativeError(float[] m, LowRankFactors f, int rows, int columns)
    {
        double error = 0, norm = 0;
        for (var i = 0; i < rows; i++)
            for (var j = 0; j < columns; j++)
            {
                double product = 0;
                for (var r = 0; r < f.Rank; r++) product += f.B[i * f.Rank + r] * f.A[r * columns + j];
                var value = m[i * columns + j];
                error += (value - product) * (value - product);
                norm += value * value;
            }

        return Math.Sqrt(error / norm);
    }

    [Fact]
    public void Factorize_MatrixOfLowerRank_IsReproducedAlmostExactly()
    {
        var m = Matrix(48, 80, 5, 0, 3);

        var f = LowRank.Factorize(m, 48, 80, 8);

        Assert.True(RelativeError(m, f, 48, 80) < 1e-4);
        Assert.True(f.Retained > 0.9999);
    }

    [Fact]
    public void Factorize_TruncatedRank_KeepsTheLargestDirections()
    {
        var m = Matrix(64, 40, 12, 1e-4f, 5);

        var f = LowRank.Factorize(m, 64, 40, 3);

        // Singular values 1, 1/2, 1/4 kept out of 12 halving ones: about 98% of the squared norm, not much more.
        Assert.InRange(f.Retained, 0.90, 0.995);
        Assert.InRange(RelativeError(m, f, 64, 40), 0.05, 0.35);
        Assert.Equal(3 * 40, f.A.Length);
        Assert.Equal(64 * 3, f.B.Length);
    }

    [Fact]
    public void Factorize_SameSeed_SameFactors()
    {
        var m = Matrix(30, 20, 20, 0.1f, 9);

        Assert.Equal(LowRank.Factorize(m, 30, 20, 4, seed: 2).A, LowRank.Factorize(m, 30, 20, 4, seed: 2).A);
    }

    [Fact]
    public void Factorize_Zero_GivesZeroFactors()
    {
        var f = LowRank.Factorize(new float[12], 3, 4, 2);

        Assert.All(f.A, v => Assert.Equal(0f, v));
        Assert.All(f.B, v => Assert.Equal(0f, v));
    }
}
