using System.Text.RegularExpressions;

namespace ChatPlatform.Inference.Gguf;

/// <summary>
/// Writes deterministic synthetic GGUF files for tests, demos and benchmarks: the same seed always gives the
/// same bytes. Tensor data is generated and written tensor by tensor, chunk by chunk, so memory use stays small
/// whatever the model size.
/// </summary>
public static partial class FixtureModels
{
    public const int DefaultLoraRank = 4;

    /// <summary>The tiny model's shape: llama architecture, 64 wide, 4 blocks, 4 heads (2 KV heads), FFN 192, context 8192.</summary>
    internal static readonly FixtureShape TinyShape = new()
    {
        Kind = FixtureKind.Tiny,
        Architecture = "llama",
        Name = "ChatPlatform tiny fixture",
        ContextLength = 8192,
        EmbeddingLength = 64,
        BlockCount = 4,
        FeedForwardLength = 192,
        HeadCount = 4,
        HeadCountKv = 2,
        RmsEpsilon = 1e-5f,
        RopeFreqBase = 10000f,
        WeightStd = 0.2f,
        ShapeOutputRows = true,
        EndOfTurnOutputScale = 1.5f,
    };

    /// <summary>Qwen2-0.5B's shape: 24 blocks, 896 wide, 14 heads (2 KV heads), FFN 4864, vocabulary 151,936, tied embeddings.</summary>
    internal static readonly FixtureShape Qwen2Shape = new()
    {
        Kind = FixtureKind.Qwen2Shape,
        Architecture = "qwen2",
        Name = "ChatPlatform Qwen2-0.5B-shaped fixture",
        ContextLength = 32768,
        EmbeddingLength = 896,
        BlockCount = 24,
        FeedForwardLength = 4864,
        HeadCount = 14,
        HeadCountKv = 2,
        RmsEpsilon = 1e-6f,
        RopeFreqBase = 1_000_000f,
        AttentionBias = true,
        TiedEmbeddings = true,
        VocabularySize = 151_936,
        WeightStd = 0.02f,
    };

    /// <summary>Writes the tiny chat model (about 1 MiB; see <see cref="FixtureKind.Tiny"/>).</summary>
    public static void WriteTiny(string path, ulong seed, IProgress<double>? progress = null, CancellationToken cancellationToken = default) =>
        TinyShape.Write(path, seed, progress, cancellationToken);

    /// <summary>
    /// Writes a Qwen2-0.5B-shaped random model with 2-D weights as <paramref name="quantization"/>
    /// (<see cref="GgmlType.F16"/>, about 942 MiB, or <see cref="GgmlType.Q8_0"/>, about 501 MiB; F32 also works).
    /// </summary>
    public static void WriteQwen2Shape(
        string path,
        ulong seed,
        GgmlType quantization = GgmlType.Q8_0,
        IProgress<double>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (quantization is not (GgmlType.F32 or GgmlType.F16 or GgmlType.Q8_0))
        {
            throw new ArgumentOutOfRangeException(nameof(quantization), quantization, "Use F16 or Q8_0 (or F32).");
        }

        (Qwen2Shape with { MatrixType = quantization }).Write(path, seed, progress, cancellationToken);
    }

    /// <summary>
    /// Writes a LoRA adapter for the model at <paramref name="basePath"/>: rank-<paramref name="rank"/> pairs on
    /// <c>attn_q</c>, <c>attn_v</c> and <c>ffn_up</c> of every block, shaped from the base's tensor infos, with
    /// alpha = rank. The update is about as large as the base weights' own contribution, so at scale 1.0 it
    /// changes what the model generates; at scale 0.0 it changes nothing.
    /// </summary>
    /// <exception cref="GgufFormatException">The base is not a readable GGUF file.</exception>
    /// <exception cref="ArgumentException">The base is an adapter, or has no tensors to adapt.</exception>
    public static void WriteLora(
        string basePath,
        string outPath,
        ulong seed,
        int rank = DefaultLoraRank,
        IProgress<double>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rank, 1);
        var baseFile = GgufFile.Read(basePath);
        var info = baseFile.Info;
        if (info.IsAdapter)
        {
            throw new ArgumentException($"'{basePath}' is an adapter, not a base model.", nameof(basePath));
        }

        var targets = baseFile.Tensors
            .Where(t => AdaptedTensor().IsMatch(t.Name) && t.Dimensions.Count == 2)
            .ToList();
        if (info.Architecture is null || targets.Count == 0)
        {
            throw new ArgumentException(
                $"'{basePath}' has no general.architecture or no blk.N.attn_q/attn_v/ffn_up weights to adapt.", nameof(basePath));
        }

        var metadata = new List<KeyValuePair<string, GgufValue>>
        {
            new("general.architecture", GgufValue.Of(info.Architecture)),
            new("general.type", GgufValue.Of(GgufModelInfo.AdapterKind)),
            new("general.name", GgufValue.Of($"ChatPlatform LoRA fixture for {info.Name ?? Path.GetFileName(basePath)}")),
            new("adapter.type", GgufValue.Of("lora")),
            new("adapter.lora.alpha", GgufValue.Of((float)rank)),
            new(FixtureFile.KindKey, GgufValue.Of(nameof(FixtureKind.Lora))),
            new(FixtureFile.SeedKey, GgufValue.Of(seed)),
        };

        // delta = B·A·(alpha/rank). With A ~ 1/sqrt(n_in) and B ~ 1/sqrt(rank), a unit-RMS input gives an
        // update of about 1 per output, comparable to the fixtures' own projections.
        var tensors = new List<FixtureTensor>();
        foreach (var target in targets)
        {
            var inputs = target.Dimensions[0];
            var outputs = target.Dimensions[1];
            tensors.Add(FixtureTensor.Random(target.Name + ".lora_a", GgmlType.F32, 1f / MathF.Sqrt(inputs), inputs, rank));
            tensors.Add(FixtureTensor.Random(target.Name + ".lora_b", GgmlType.F32, 1f / MathF.Sqrt(rank), rank, outputs));
        }

        FixtureFile.Write(outPath, metadata, tensors, seed, progress, cancellationToken);
    }

    /// <summary>Writes any fixture kind; <paramref name="basePath"/> is required for <see cref="FixtureKind.Lora"/>.</summary>
    public static void Write(
        FixtureKind kind,
        string path,
        ulong seed,
        string? basePath = null,
        GgmlType quantization = GgmlType.Q8_0,
        IProgress<double>? progress = null,
        CancellationToken cancellationToken = default)
    {
        switch (kind)
        {
            case FixtureKind.Tiny:
                WriteTiny(path, seed, progress, cancellationToken);
                break;
            case FixtureKind.Lora:
                WriteLora(basePath ?? throw new ArgumentNullException(nameof(basePath), "A LoRA fixture needs a base model."),
                    path, seed, DefaultLoraRank, progress, cancellationToken);
                break;
            case FixtureKind.Qwen2Shape:
                WriteQwen2Shape(path, seed, quantization, progress, cancellationToken);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    [GeneratedRegex(@"^blk\.\d+\.(attn_q|attn_v|ffn_up)\.weight$", RegexOptions.CultureInvariant)]
    private static partial Regex AdaptedTensor();
}
