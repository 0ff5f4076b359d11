namespace ChatPlatform.Inference.Training;

/// <summary>A rank-r factorisation <c>M ≈ B·A</c> of a weight difference, as a LoRA adapter stores it.</summary>
/// <param name="A">r × columns, row-major (the adapter's <c>lora_a</c>: ne = [columns, r]).</param>
/// <param name="B">rows × r, row-major (the adapter's <c>lora_b</c>: ne = [r, rows]).</param>
/// <param name="Retained">Share of the difference's squared Frobenius norm that the rank-r part keeps (0 to 1).</param>
public sealed record LowRankFactors(int Rank, float[] A, float[] B, double Retained);

/// <summary>
/// Truncated SVD by randomised subspace iteration (a seeded Gaussian start, a few power iterations, then the exact
/// SVD of the small projected matrix through a Jacobi eigen-decomposition). Deterministic for a given seed, and
/// exact when the rank reaches the matrix's smaller side.
/// </summary>
public static class LowRank
{
    private const int Oversampling = 8;
    private const int PowerIterations = 4;

    /// <summary>Factorises the <paramref name="rows"/> × <paramref name="columns"/> row-major matrix <paramref name="m"/>.</summary>
    public static LowRankFactors Factorize(ReadOnlySpan<float> m, int rows, int columns, int rank, int seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rank, 1);
        if (m.Length != (long)rows * columns) throw new ArgumentException("The matrix does not have rows × columns values.", nameof(m));
        var total = 0.0;
        foreach (var v in m) total += (double)v * v;
        var k = Math.Min(rank + Oversampling, Math.Min(rows, columns));
        var a = new float[(long)rank * columns];
        var b = new float[(long)rows * rank];
        if (total == 0) return new LowRankFactors(rank, a, b, 1.0);

        // Q: rows × k orthonormal basis of M's range (column-major: k columns of length rows).
        var random = new Random(seed);
        var omega = new double[k][];
        for (var j = 0; j < k; j++)
        {
            omega[j] = new double[columns];
            for (var i = 0; i < columns; i++) omega[j][i] = Gaussian(random);
        }

        var q = Multiply(m, rows, columns, omega);
        Orthonormalize(q);
        for (var iteration = 0; iteration < PowerIterations; iteration++)
        {
            var z = MultiplyTransposed(m, rows, columns, q);
            Orthonormalize(z);
            q = Multiply(m, rows, columns, z);
            Orthonormalize(q);
        }

        // S = Qᵀ·M (k × columns); G = S·Sᵀ = W·Λ·Wᵀ; M ≈ (Q·W)·diag(σ)·(diag(1/σ)·Wᵀ·S).
        var s = MultiplyTransposed(m, rows, columns, q); // columns-length vectors: s[j] = row j of S
        var g = new double[k, k];
        for (var i = 0; i < k; i++)
            for (var j = i; j < k; j++)
            {
                var dot = Dot(s[i], s[j]);
                g[i, j] = dot;
                g[j, i] = dot;
            }

        var (values, vectors) = JacobiEigen(g);
        var order = Enumerable.Range(0, k).OrderByDescending(i => values[i]).ToArray();
        var kept = 0.0;
        for (var r = 0; r < Math.Min(rank, k); r++)
        {
            var e = order[r];
            var lambda = Math.Max(values[e], 0);
            var sigma = Math.Sqrt(lambda);
            if (sigma <= 1e-12 * Math.Sqrt(total)) break;
            kept += lambda;
            var root = Math.Sqrt(sigma);
            for (var row = 0; row < rows; row++)
            {
                var u = 0.0;
                for (var j = 0; j < k; j++) u += q[j][row] * vectors[j, e];
                b[(long)row * rank + r] = (float)(u * root);
            }

            for (var column = 0; column < columns; column++)
            {
                var v = 0.0;
                for (var j = 0; j < k; j++) v += vectors[j, e] * s[j][column];
                a[(long)r * columns + column] = (float)(v / sigma * root);
            }
        }

        return new LowRankFactors(rank, a, b, Math.Min(1.0, kept / total));
    }

    private static double Gaussian(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>M·X for X given as column vectors of length <paramref name="columns"/>; returns column vectors of length rows.</summary>
    private static double[][] Multiply(ReadOnlySpan<float> m, int rows, int columns, double[][] x)
    {
        var result = new double[x.Length][];
        for (var j = 0; j < x.Length; j++) result[j] = new double[rows];
        for (var row = 0; row < rows; row++)
        {
            var line = m.Slice(row * columns, columns);
            for (var j = 0; j < x.Length; j++)
            {
                var v = x[j];
                var sum = 0.0;
                for (var i = 0; i < columns; i++) sum += line[i] * v[i];
                result[j][row] = sum;
            }
        }

        return result;
    }

    /// <summary>Mᵀ·Y for Y given as column vectors of length rows; returns column vectors of length <paramref name="columns"/>.</summary>
    private static double[][] MultiplyTransposed(ReadOnlySpan<float> m, int rows, int columns, double[][] y)
    {
        var result = new double[y.Length][];
        for (var j = 0; j < y.Length; j++) result[j] = new double[columns];
        for (var row = 0; row < rows; row++)
        {
            var line = m.Slice(row * columns, columns);
            for (var j = 0; j < y.Length; j++)
            {
                var weight = y[j][row];
                if (weight == 0) continue;
                var target = result[j];
                for (var i = 0; i < columns; i++) target[i] += weight * line[i];
            }
        }

        return result;
    }

    /// <summary>Modified Gram–Schmidt, twice for stability; a vector that vanishes is left as zeros.</summary>
    private static void Orthonormalize(double[][] vectors)
    {
        for (var pass = 0; pass < 2; pass++)
        {
            for (var j = 0; j < vectors.Length; j++)
            {
                var v = vectors[j];
                for (var p = 0; p < j; p++)
                {
                    var dot = Dot(vectors[p], v);
                    var basis = vectors[p];
                    for (var i = 0; i < v.Length; i++) v[i] -= dot * basis[i];
                }

                var norm = Math.Sqrt(Dot(v, v));
                if (norm < 1e-300) Array.Clear(v);
                else for (var i = 0; i < v.Length; i++) v[i] /= norm;
            }
        }
    }

    private static double Dot(double[] x, double[] y)
    {
        var sum = 0.0;
        for (var i = 0; i < x.Length; i++) sum += x[i] * y[i];
        return sum;
    }

    /// <summary>Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations; eigenvectors are columns.</summary>
    private static (double[] Values, double[,] Vectors) JacobiEigen(double[,] matrix)
    {
        var n = matrix.GetLength(0);
        var a = (double[,])matrix.Clone();
        var v = new double[n, n];
        for (var i = 0; i < n; i++) v[i, i] = 1;
        for (var sweep = 0; sweep < 100; sweep++)
        {
            var off = 0.0;
            for (var i = 0; i < n; i++)
                for (var j = i + 1; j < n; j++) off += a[i, j] * a[i, j];
            if (off < 1e-30) break;
            for (var p = 0; p < n; p++)
                for (var r = p + 1; r < n; r++)
                {
                    if (Math.Abs(a[p, r]) < 1e-300) continue;
                    var theta = (a[r, r] - a[p, p]) / (2 * a[p, r]);
                    var t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    var c = 1 / Math.Sqrt(t * t + 1);
                    var s = t * c;
                    for (var k = 0; k < n; k++)
                    {
                        var akp = a[k, p];
                        var akr = a[k, r];
                        a[k, p] = c * akp - s * akr;
                        a[k, r] = s * akp + c * akr;
                    }

                    for (var k = 0; k < n; k++)
                    {
                        var apk = a[p, k];
                        var ark = a[r, k];
                        a[p, k] = c * apk - s * ark;
                        a[r, k] = s * apk + c * ark;
                    }

                    for (var k = 0; k < n; k++)
                    {
                        var vkp = v[k, p];
                        var vkr = v[k, r];
                        v[k, p] = c * vkp - s * vkr;
                        v[k, r] = s * vkp + c * vkr;
                    }
                }
        }

        var values = new double[n];
        for (var i = 0; i < n; i++) values[i] = a[i, i];
        return (values, v);
    }
}
