using System.Text.RegularExpressions;
using ChatPlatform.Safety.Detection;
using ChatPlatform.Safety.Text;

namespace ChatPlatform.Safety.Training;

/// <summary>
/// Builds <see cref="WordClasses"/> from a CC-CEDICT file (<c>TRADITIONAL SIMPLIFIED [pin1 yin1] /gloss/gloss/</c>):
/// every Chinese word of one to four characters that has an English gloss is placed by the sentence embedding of its
/// gloss, and the words are grouped by k-means on the main axes of those embeddings. Deterministic: the same
/// dictionary and embedder give the same classes.
/// </summary>
public static partial class WordClassBuilder
{
    /// <summary>Senses kept per word: the first ones are the common meanings.</summary>
    private const int SensesPerWord = 3;

    /// <summary>A dictionary word: its simplified and traditional forms and the English gloss that is embedded.</summary>
    public sealed record Entry(string Simplified, string Traditional, string Gloss);

    /// <summary>
    /// The words of a CC-CEDICT file with a usable gloss. Proper names (capitalised pinyin) only when the word has no
    /// common reading; senses that only point elsewhere (variants, classifiers, surnames, abbreviations) are dropped,
    /// and so are bracketed notes.
    /// </summary>
    public static List<Entry> Read(IEnumerable<string> lines)
    {
        var words = new Dictionary<string, (string Traditional, List<string> Common, List<string> Names)>(StringComparer.Ordinal);
        var number = 0;
        foreach (var line in lines)
        {
            number++;
            if (line.Length == 0 || line[0] == '#') continue;
            var match = EntryLine().Match(line);
            if (!match.Success) throw new FormatException($"line {number} is not a CC-CEDICT entry (TRADITIONAL SIMPLIFIED [pinyin] /gloss/)");
            var (traditional, simplified, pinyin) = (match.Groups[1].Value, match.Groups[2].Value, match.Groups[3].Value);
            if (simplified.Length > WordClasses.MaxWordLength || traditional.Length != simplified.Length || !simplified.All(TextNormalizer.IsCjk)) continue;
            var senses = match.Groups[4].Value.Split('/').Select(Clean).Where(s => s.Length > 0).ToList();
            if (senses.Count == 0) continue;
            if (!words.TryGetValue(simplified, out var word)) words[simplified] = word = (traditional, [], []);
            (char.IsUpper(pinyin[0]) ? word.Names : word.Common).AddRange(senses);
        }
        return [.. words.OrderBy(w => w.Key, StringComparer.Ordinal).Select(w =>
        {
            var senses = (w.Value.Common.Count > 0 ? w.Value.Common : w.Value.Names).Distinct(StringComparer.Ordinal).Take(SensesPerWord);
            return new Entry(w.Key, w.Value.Traditional, string.Join("; ", senses));
        })];
    }

    /// <summary>A sense as plain English ("to steal" → "steal"), or empty when it only points elsewhere.</summary>
    internal static string Clean(string sense)
    {
        var s = Bracketed().Replace(sense, " ").Trim();
        if (s.Length == 0 || s.Any(TextNormalizer.IsCjk) || PointsElsewhere().IsMatch(s)) return "";
        if (s.StartsWith("to ", StringComparison.Ordinal)) s = s[3..];
        s = Spaces().Replace(s, " ").Trim(' ', ',', ';', '.');
        return s.Length is > 0 and <= 60 ? s : "";
    }

    /// <summary>Traditional to simplified characters, from the dictionary's one-character words.</summary>
    public static Dictionary<char, char> Simplifications(IEnumerable<Entry> entries) =>
        entries.Where(e => e.Simplified.Length == 1 && e.Traditional[0] != e.Simplified[0])
            .GroupBy(e => e.Traditional[0]).ToDictionary(g => g.Key, g => g.First().Simplified[0]);

    /// <param name="embed">Embeds a batch of glosses (unit vectors of one length).</param>
    /// <param name="classes">How many classes.</param>
    /// <param name="progress">Told what is being done, now and then.</param>
    public static WordClasses Build(string name, IReadOnlyList<Entry> entries, Func<IReadOnlyList<string>, float[][]> embed, int classes = 1024,
        Action<string>? progress = null)
    {
        if (entries.Count < classes) throw new ArgumentException($"the dictionary has {entries.Count} usable words, fewer than {classes} classes", nameof(entries));
        const int batch = 64;
        var vectors = new float[entries.Count][];
        for (var start = 0; start < entries.Count; start += batch)
        {
            var embedded = embed([.. entries.Skip(start).Take(batch).Select(e => e.Gloss)]);
            for (var i = 0; i < embedded.Length; i++) vectors[start + i] = embedded[i];
            var done = Math.Min(start + batch, entries.Count);
            if (done % 6400 == 0 || done == entries.Count) progress?.Invoke($"glosses embedded: {done}/{entries.Count}");
        }
        var points = OnMainAxes(vectors, Axes);
        progress?.Invoke($"grouping {entries.Count} words into {classes} classes");
        var classOf = KMeans(points, classes);
        var table = new Dictionary<ulong, ushort>();
        for (var row = 0; row < entries.Count; row++) table.TryAdd(WordClasses.Hash(entries[row].Simplified), (ushort)classOf[row]);
        return new WordClasses(name, classes, table, Simplifications(entries));
    }

    /// <summary>
    /// The main axes the words are grouped on: the embeddings' first 64 principal components keep most of what tells
    /// glosses apart, and k-means on them costs a sixth of k-means on all 384 dimensions.
    /// </summary>
    private const int Axes = 64;

    /// <summary>Each vector's coordinates on the main axes of all of them, scaled to unit length (so k-means compares directions).</summary>
    internal static float[][] OnMainAxes(float[][] vectors, int axes)
    {
        var dimensions = vectors[0].Length;
        var mean = new float[dimensions];
        foreach (var v in vectors)
            for (var d = 0; d < dimensions; d++) mean[d] += v[d] / vectors.Length;
        var mainAxes = MainAxes(vectors, mean, Math.Min(axes, dimensions));
        return [.. vectors.Select(v =>
        {
            var p = new float[mainAxes.Length];
            for (var a = 0; a < mainAxes.Length; a++)
            {
                double c = 0;
                for (var d = 0; d < dimensions; d++) c += (v[d] - mean[d]) * mainAxes[a][d];
                p[a] = (float)c;
            }
            Normalise(p);
            return p;
        })];
    }

    /// <summary>
    /// Spherical k-means: each point to the centre it points most nearly along. The centres start by k-means++ from a
    /// fixed seed (each next one drawn with odds growing with its distance from those already drawn), so the result
    /// depends on nothing but the input.
    /// </summary>
    internal static int[] KMeans(float[][] points, int k, int iterations = 15)
    {
        var n = points.Length;
        var dimensions = points[0].Length;
        var random = new Random(20261207);
        var centres = new float[k][];
        centres[0] = (float[])points[random.Next(n)].Clone();
        var distance = new double[n];
        Array.Fill(distance, double.MaxValue);
        for (var c = 1; c < k; c++)
        {
            var last = centres[c - 1];
            Parallel.For(0, n, p =>
            {
                float dot = 0;
                for (var d = 0; d < dimensions; d++) dot += points[p][d] * last[d];
                var far = Math.Max(0, 1 - dot);
                if (far * far < distance[p]) distance[p] = far * far;
            });
            var pick = random.NextDouble() * distance.Sum();
            var chosen = 0;
            for (double sum = 0; chosen < n - 1; chosen++)
                if ((sum += distance[chosen]) >= pick) break;
            centres[c] = (float[])points[chosen].Clone();
        }
        var assigned = new int[n];
        for (var iteration = 0; iteration < iterations; iteration++)
        {
            Parallel.For(0, n, p =>
            {
                var (best, bestDot) = (0, float.MinValue);
                for (var c = 0; c < k; c++)
                {
                    float dot = 0;
                    for (var d = 0; d < dimensions; d++) dot += points[p][d] * centres[c][d];
                    if (dot > bestDot) (best, bestDot) = (c, dot);
                }
                assigned[p] = best;
            });
            var sums = Enumerable.Range(0, k).Select(_ => new float[dimensions]).ToArray();
            for (var p = 0; p < n; p++)
                for (var d = 0; d < dimensions; d++) sums[assigned[p]][d] += points[p][d];
            for (var c = 0; c < k; c++)
                if (sums[c].Any(v => v != 0))
                {
                    Normalise(sums[c]);
                    centres[c] = sums[c];
                }
        }
        return assigned;
    }

    private static void Normalise(float[] v)
    {
        var norm = MathF.Sqrt(v.Sum(x => x * x));
        if (norm > 0)
            for (var d = 0; d < v.Length; d++) v[d] /= norm;
    }

    /// <summary>
    /// The <paramref name="count"/> main axes (principal components) of the vectors, by orthogonal iteration on their
    /// covariance from a fixed start: deterministic, and a few hundred dimensions need no more.
    /// </summary>
    internal static float[][] MainAxes(float[][] vectors, float[] mean, int count)
    {
        var n = mean.Length;
        var covariance = new double[n, n];
        var centred = new double[n];
        foreach (var v in vectors)
        {
            for (var d = 0; d < n; d++) centred[d] = v[d] - mean[d];
            for (var i = 0; i < n; i++)
            {
                var ci = centred[i];
                for (var j = i; j < n; j++) covariance[i, j] += ci * centred[j];
            }
        }
        for (var i = 0; i < n; i++)
            for (var j = i; j < n; j++) covariance[j, i] = covariance[i, j] /= vectors.Length;

        var random = new Random(20261207);
        var q = new double[count][];
        for (var a = 0; a < count; a++) q[a] = [.. Enumerable.Range(0, n).Select(_ => random.NextDouble() - 0.5)];
        Orthonormalise(q);
        for (var iteration = 0; iteration < 150; iteration++)
        {
            var z = new double[count][];
            for (var a = 0; a < count; a++)
            {
                z[a] = new double[n];
                for (var i = 0; i < n; i++)
                {
                    double s = 0;
                    for (var j = 0; j < n; j++) s += covariance[i, j] * q[a][j];
                    z[a][i] = s;
                }
            }
            Orthonormalise(z);
            q = z;
        }
        return [.. q.Select(a => a.Select(x => (float)x).ToArray())];
    }

    private static void Orthonormalise(double[][] vectors)
    {
        for (var a = 0; a < vectors.Length; a++)
        {
            for (var b = 0; b < a; b++)
            {
                double dot = 0;
                for (var d = 0; d < vectors[a].Length; d++) dot += vectors[a][d] * vectors[b][d];
                for (var d = 0; d < vectors[a].Length; d++) vectors[a][d] -= dot * vectors[b][d];
            }
            // With fewer words than dimensions the covariance has fewer axes than asked for: the rest stay zero.
            var norm = Math.Sqrt(vectors[a].Sum(x => x * x));
            for (var d = 0; d < vectors[a].Length; d++) vectors[a][d] = norm > 1e-9 ? vectors[a][d] / norm : 0;
        }
    }

    [GeneratedRegex(@"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")]
    private static partial Regex EntryLine();

    [GeneratedRegex(@"\([^)]*\)|\[[^\]]*\]")]
    private static partial Regex Bracketed();

    [GeneratedRegex(@"^(CL:|variant of|old variant|also written|also pr\.|see |surname|abbr\. for|erhua variant|Japanese variant|used in|pr\. |Taiwan pr\.|[a-z]+ variant of)", RegexOptions.IgnoreCase)]
    private static partial Regex PointsElsewhere();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
