using System.Globalization;

namespace ChatPlatform.Inference.Gguf;

/// <summary>
/// Hyperparameters of a synthetic llama-family decoder, and the one routine that turns them into GGUF metadata and
/// tensor declarations (shared by the tiny and the Qwen2-shaped fixtures).
/// </summary>
internal sealed record FixtureShape
{
    public required FixtureKind Kind { get; init; }

    public required string Architecture { get; init; }

    public required string Name { get; init; }

    public required int ContextLength { get; init; }

    public required int EmbeddingLength { get; init; }

    public required int BlockCount { get; init; }

    public required int FeedForwardLength { get; init; }

    public required int HeadCount { get; init; }

    public required int HeadCountKv { get; init; }

    public required float RmsEpsilon { get; init; }

    public required float RopeFreqBase { get; init; }

    /// <summary>Whether q, k and v projections carry biases (Qwen2 does).</summary>
    public bool AttentionBias { get; init; }

    /// <summary>Whether the output projection reuses the token embedding (no <c>output.weight</c>).</summary>
    public bool TiedEmbeddings { get; init; }

    /// <summary>Pads the vocabulary to this many tokens; null keeps the base vocabulary.</summary>
    public int? VocabularySize { get; init; }

    /// <summary>Type of the 2-D weight matrices; norms and biases stay F32.</summary>
    public GgmlType MatrixType { get; init; } = GgmlType.F32;

    public required float WeightStd { get; init; }

    /// <summary>Scale of the <c>&lt;|im_end|&gt;</c> output row relative to word rows (see <see cref="FixtureVocabulary.OutputScales"/>).</summary>
    public float EndOfTurnOutputScale { get; init; } = 1f;

    /// <summary>Whether output rows of bytes, controls and word prefixes are zeroed (untied models only).</summary>
    public bool ShapeOutputRows { get; init; }

    public int HeadDimension => EmbeddingLength / HeadCount;

    public int KeyValueLength => HeadDimension * HeadCountKv;

    /// <summary>llama.cpp's <c>general.file_type</c> for <see cref="MatrixType"/>.</summary>
    public uint FileType => MatrixType switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.Q8_0 => 7,
        _ => throw new NotSupportedException($"Fixtures cannot be written as {MatrixType}."),
    };

    public void Write(string path, ulong seed, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var vocabulary = FixtureVocabulary.Create(VocabularySize, EndOfTurnOutputScale);
        FixtureFile.Write(path, Metadata(vocabulary, seed), Tensors(vocabulary), seed, progress, cancellationToken);
    }

    private List<KeyValuePair<string, GgufValue>> Metadata(FixtureVocabulary vocabulary, ulong seed)
    {
        var arch = Architecture;
        var metadata = new List<KeyValuePair<string, GgufValue>>
        {
            new("general.architecture", GgufValue.Of(arch)),
            new("general.type", GgufValue.Of(GgufModelInfo.ModelKind)),
            new("general.name", GgufValue.Of(Name)),
            new("general.file_type", GgufValue.Of(FileType)),
        };
        if (MatrixType == GgmlType.Q8_0)
        {
            metadata.Add(new("general.quantization_version", GgufValue.Of(2u)));
        }

        metadata.Add(new($"{arch}.context_length", GgufValue.Of((uint)ContextLength)));
        metadata.Add(new($"{arch}.embedding_length", GgufValue.Of((uint)EmbeddingLength)));
        metadata.Add(new($"{arch}.block_count", GgufValue.Of((uint)BlockCount)));
        metadata.Add(new($"{arch}.feed_forward_length", GgufValue.Of((uint)FeedForwardLength)));
        metadata.Add(new($"{arch}.attention.head_count", GgufValue.Of((uint)HeadCount)));
        metadata.Add(new($"{arch}.attention.head_count_kv", GgufValue.Of((uint)HeadCountKv)));
        metadata.Add(new($"{arch}.attention.layer_norm_rms_epsilon", GgufValue.Of(RmsEpsilon)));
        metadata.Add(new($"{arch}.rope.dimension_count", GgufValue.Of((uint)HeadDimension)));
        metadata.Add(new($"{arch}.rope.freq_base", GgufValue.Of(RopeFreqBase)));
        vocabulary.AddMetadata(metadata);
        metadata.Add(new(FixtureFile.KindKey, GgufValue.Of(Kind.ToString())));
        metadata.Add(new(FixtureFile.SeedKey, GgufValue.Of(seed)));
        return metadata;
    }

    private List<FixtureTensor> Tensors(FixtureVocabulary vocabulary)
    {
        long embd = EmbeddingLength;
        long ff = FeedForwardLength;
        long kv = KeyValueLength;
        long vocab = vocabulary.Count;
        var matrix = MatrixType;
        var std = WeightStd;
        var tensors = new List<FixtureTensor>
        {
            FixtureTensor.Random("token_embd.weight", matrix, std, embd, vocab),
        };
        for (var block = 0; block < BlockCount; block++)
        {
            var b = string.Create(CultureInfo.InvariantCulture, $"blk.{block}.");
            tensors.Add(FixtureTensor.Constant(b + "attn_norm.weight", 1f, embd));
            tensors.Add(FixtureTensor.Random(b + "attn_q.weight", matrix, std, embd, embd));
            tensors.Add(FixtureTensor.Random(b + "attn_k.weight", matrix, std, embd, kv));
            tensors.Add(FixtureTensor.Random(b + "attn_v.weight", matrix, std, embd, kv));
            if (AttentionBias)
            {
                tensors.Add(FixtureTensor.Random(b + "attn_q.bias", GgmlType.F32, std, embd));
                tensors.Add(FixtureTensor.Random(b + "attn_k.bias", GgmlType.F32, std, kv));
                tensors.Add(FixtureTensor.Random(b + "attn_v.bias", GgmlType.F32, std, kv));
            }

            tensors.Add(FixtureTensor.Random(b + "attn_output.weight", matrix, std, embd, embd));
            tensors.Add(FixtureTensor.Constant(b + "ffn_norm.weight", 1f, embd));
            tensors.Add(FixtureTensor.Random(b + "ffn_gate.weight", matrix, std, embd, ff));
            tensors.Add(FixtureTensor.Random(b + "ffn_up.weight", matrix, std, embd, ff));
            tensors.Add(FixtureTensor.Random(b + "ffn_down.weight", matrix, std, ff, embd));
        }

        tensors.Add(FixtureTensor.Constant("output_norm.weight", 1f, embd));
        if (!TiedEmbeddings)
        {
            tensors.Add(ShapeOutputRows
                ? FixtureTensor.ScaledRows("output.weight", matrix, std, vocabulary.OutputScales, embd, vocab)
                : FixtureTensor.Random("output.weight", matrix, std, embd, vocab));
        }

        return tensors;
    }
}
