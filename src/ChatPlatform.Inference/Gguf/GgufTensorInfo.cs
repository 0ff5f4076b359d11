namespace ChatPlatform.Inference.Gguf;

/// <summary>
/// A tensor's description in a GGUF file. <see cref="Dimensions"/> are in ggml order: element 0 is the
/// fastest-varying axis (a weight matrix with n_in inputs and n_out outputs has dimensions [n_in, n_out]).
/// <see cref="Offset"/> is relative to the start of the file's data section.
/// </summary>
public sealed class GgufTensorInfo
{
    public GgufTensorInfo(string name, GgmlType type, IReadOnlyList<long> dimensions, long offset)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(dimensions);
        Name = name;
        Type = type;
        Dimensions = [.. dimensions];
        Offset = offset;
        long count = 1;
        foreach (var dimension in Dimensions)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(dimension, nameof(dimensions));
            count = checked(count * dimension);
        }

        ElementCount = count;
        ByteCount = GgmlTypeInfo.ByteCount(type, count);
    }

    public string Name { get; }

    public GgmlType Type { get; }

    public IReadOnlyList<long> Dimensions { get; }

    public long Offset { get; }

    public long ElementCount { get; }

    /// <summary>Bytes of tensor data, without alignment padding.</summary>
    public long ByteCount { get; }

    public override string ToString() => $"{Name} {Type} [{string.Join(", ", Dimensions)}] @{Offset}";
}
