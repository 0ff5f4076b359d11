namespace ChatPlatform.Inference.Gguf;

/// <summary>The parsed header, metadata and tensor infos of a GGUF file (tensor data stays on disk).</summary>
public sealed class GgufFile
{
    private readonly Dictionary<string, GgufValue> metadata;
    private readonly Dictionary<string, GgufTensorInfo> tensorsByName;
    private GgufModelInfo? info;

    internal GgufFile(
        string? path,
        uint version,
        uint alignment,
        long dataOffset,
        long fileLength,
        IReadOnlyList<string> keys,
        Dictionary<string, GgufValue> metadata,
        IReadOnlyList<GgufTensorInfo> tensors)
    {
        Path = path;
        Version = version;
        Alignment = alignment;
        DataOffset = dataOffset;
        FileLength = fileLength;
        Keys = keys;
        this.metadata = metadata;
        Tensors = tensors;
        tensorsByName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>Reads and validates <paramref name="path"/>; throws <see cref="GgufFormatException"/> when it is malformed.</summary>
    public static GgufFile Read(string path) => GgufReader.Read(path);

    /// <summary>The path the file was read from, when read from a path.</summary>
    public string? Path { get; }

    public uint Version { get; }

    public uint Alignment { get; }

    /// <summary>Absolute byte position of the tensor data section.</summary>
    public long DataOffset { get; }

    public long FileLength { get; }

    /// <summary>Metadata keys in file order.</summary>
    public IReadOnlyList<string> Keys { get; }

    public IReadOnlyDictionary<string, GgufValue> Metadata => metadata;

    /// <summary>Tensor infos in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>A summary of what the file holds (architecture, size, quantisation, adapter details, ...).</summary>
    public GgufModelInfo Info => info ??= GgufModelInfo.From(this);

    public GgufValue? GetValue(string key) => metadata.GetValueOrDefault(key);

    public string? GetString(string key) => metadata.TryGetValue(key, out var value) && value.Type == GgufValueType.String
        ? value.AsString()
        : null;

    /// <summary>The value of an integer-typed key, or null when absent or not an integer.</summary>
    public long? GetInteger(string key) => metadata.TryGetValue(key, out var value)
        ? value.Value switch
        {
            byte or sbyte or ushort or short or uint or int or long => value.AsInt64(),
            ulong u when u <= long.MaxValue => (long)u,
            _ => null,
        }
        : null;

    /// <summary>The value of a float- or integer-typed key, or null when absent or not a number.</summary>
    public double? GetNumber(string key) => metadata.TryGetValue(key, out var value)
        ? value.Value switch
        {
            float or double or byte or sbyte or ushort or short or uint or int or long or ulong => value.AsDouble(),
            _ => null,
        }
        : null;

    public GgufTensorInfo? FindTensor(string name) => tensorsByName.GetValueOrDefault(name);

    /// <summary>Absolute byte position of a tensor's data.</summary>
    public long DataPosition(GgufTensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return DataOffset + tensor.Offset;
    }
}
