namespace ChatPlatform.Inference.Gguf;

/// <summary>LoRA adapter details from an adapter GGUF file.</summary>
/// <param name="Type">The <c>adapter.type</c> value, e.g. "lora".</param>
/// <param name="Alpha"><c>adapter.lora.alpha</c>, when present.</param>
/// <param name="Rank">The rank read from the first <c>.lora_a</c> tensor, when there is one.</param>
/// <param name="AdaptedTensorCount">How many base tensors have a <c>.lora_a</c>/<c>.lora_b</c> pair.</param>
public sealed record GgufAdapterInfo(string? Type, float? Alpha, int? Rank, int AdaptedTensorCount);

/// <summary>A summary of a GGUF model or adapter, for listings and validation.</summary>
public sealed record GgufModelInfo
{
    public const string ModelKind = "model";
    public const string AdapterKind = "adapter";

    /// <summary><c>general.type</c>: "model" (also when absent) or "adapter".</summary>
    public required string Kind { get; init; }

    public bool IsAdapter => Kind == AdapterKind;

    public string? Architecture { get; init; }

    public string? Name { get; init; }

    /// <summary>Sum of the element counts of all tensors.</summary>
    public required long ParameterCount { get; init; }

    /// <summary>
    /// The quantisation: the <c>general.file_type</c> name when the file declares one (e.g. "F16", "Q8_0", "Q4_K_M"),
    /// otherwise the tensor type when all tensors share it, otherwise e.g. "mixed F32+F16".
    /// </summary>
    public required string Quantization { get; init; }

    /// <summary>The distinct tensor types in ggml order, e.g. "F32+Q8_0".</summary>
    public required string TensorTypeMix { get; init; }

    /// <summary>Number of tensors of each type.</summary>
    public required IReadOnlyDictionary<GgmlType, int> TensorTypeCounts { get; init; }

    /// <summary>The tensor types that are quantised (anything but F32, F16 and BF16); empty for an unquantised model.</summary>
    public IReadOnlyList<GgmlType> QuantizedTypes => [.. TensorTypeCounts.Keys.Where(t => t is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16))];

    public long? FileType { get; init; }

    public int? ContextLength { get; init; }

    public int? EmbeddingLength { get; init; }

    public int? BlockCount { get; init; }

    public int? HeadCount { get; init; }

    public int? HeadCountKv { get; init; }

    public int? FeedForwardLength { get; init; }

    /// <summary>Length of <c>tokenizer.ggml.tokens</c> (or <c>{arch}.vocab_size</c>).</summary>
    public int? VocabularySize { get; init; }

    public string? TokenizerModel { get; init; }

    public string? ChatTemplate { get; init; }

    /// <summary>Adapter details when <see cref="IsAdapter"/>; otherwise null.</summary>
    public GgufAdapterInfo? Adapter { get; init; }

    public required int TensorCount { get; init; }

    public required long FileLength { get; init; }

    /// <summary>Name of a <c>general.file_type</c> (llama.cpp's <c>llama_ftype</c>), or null when unknown.</summary>
    public static string? FileTypeName(long fileType) => fileType switch
    {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        _ => null,
    };

    public static GgufModelInfo From(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var architecture = file.GetString("general.architecture");
        var kind = file.GetString("general.type") ?? ModelKind;
        int? ArchInt(string suffix) => architecture is null ? null : ToInt(file.GetInteger($"{architecture}.{suffix}"));

        var typeCounts = file.Tensors
            .GroupBy(t => t.Type)
            .OrderBy(g => (uint)g.Key)
            .ToDictionary(g => g.Key, g => g.Count());
        var mix = typeCounts.Count == 0 ? "none" : string.Join("+", typeCounts.Keys);
        var fileType = file.GetInteger("general.file_type");
        var quantization = (fileType is { } ft ? FileTypeName(ft) : null)
            ?? (typeCounts.Count <= 1 ? mix : "mixed " + mix);

        var vocabulary = file.GetValue("tokenizer.ggml.tokens") is { IsArray: true } tokens
            ? tokens.ArrayLength
            : ArchInt("vocab_size");

        return new GgufModelInfo
        {
            Kind = kind,
            Architecture = architecture,
            Name = file.GetString("general.name"),
            ParameterCount = file.Tensors.Sum(t => t.ElementCount),
            Quantization = quantization,
            TensorTypeMix = mix,
            TensorTypeCounts = typeCounts,
            FileType = fileType,
            ContextLength = ArchInt("context_length"),
            EmbeddingLength = ArchInt("embedding_length"),
            BlockCount = ArchInt("block_count"),
            HeadCount = ArchInt("attention.head_count"),
            HeadCountKv = ArchInt("attention.head_count_kv"),
            FeedForwardLength = ArchInt("feed_forward_length"),
            VocabularySize = vocabulary,
            TokenizerModel = file.GetString("tokenizer.ggml.model"),
            ChatTemplate = file.GetString("tokenizer.chat_template"),
            Adapter = kind == AdapterKind ? AdapterFrom(file) : null,
            TensorCount = file.Tensors.Count,
            FileLength = file.FileLength,
        };
    }

    private static GgufAdapterInfo AdapterFrom(GgufFile file)
    {
        var loraA = file.Tensors.Where(t => t.Name.EndsWith(".lora_a", StringComparison.Ordinal)).ToList();
        var adapted = loraA.Count(a => file.FindTensor(a.Name[..^".lora_a".Length] + ".lora_b") is not null);
        var rank = loraA.Count > 0 && loraA[0].Dimensions.Count > 1 ? ToInt(loraA[0].Dimensions[1]) : null;
        var alpha = file.GetNumber("adapter.lora.alpha");
        return new GgufAdapterInfo(file.GetString("adapter.type"), alpha is { } a ? (float)a : null, rank, adapted);
    }

    private static int? ToInt(long? value) => value is >= 0 and <= int.MaxValue ? (int)value : null;
}
