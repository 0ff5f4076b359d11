using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace ChatPlatform.Inference.Gguf;

/// <summary>
/// Streams a GGUF v3 file. Declare metadata and tensors first (<see cref="AddMetadata"/>, <see cref="AddTensor"/>);
/// tensor offsets are computed from shapes and types as they are declared. Then write each tensor's values in
/// declaration order, in as many chunks as convenient (<see cref="WriteTensorData"/>); the writer encodes them to
/// the tensor's type and pads to the alignment. Only one chunk is ever held, so files of any size can be written.
/// Call <see cref="Complete"/> at the end; it checks that every tensor got all its data.
/// </summary>
public sealed class GgufWriter : IDisposable
{
    public const uint Version = 3;
    public const uint DefaultAlignment = 32;
    public const string AlignmentKey = "general.alignment";

    private static readonly byte[] Magic = "GGUF"u8.ToArray();

    private readonly Stream output;
    private readonly bool leaveOpen;
    private readonly List<KeyValuePair<string, GgufValue>> metadata = [];
    private readonly HashSet<string> keys = new(StringComparer.Ordinal);
    private readonly List<GgufTensorInfo> tensors = [];
    private readonly HashSet<string> tensorNames = new(StringComparer.Ordinal);
    private byte[] encodeBuffer = [];
    private byte[] zeros = new byte[DefaultAlignment];
    private long dataSize;
    private long headerSize = -1;
    private int currentTensor;
    private long currentElements;
    private bool completed;
    private bool disposed;

    public GgufWriter(Stream output, uint alignment = DefaultAlignment, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!output.CanWrite)
        {
            throw new ArgumentException("The stream must be writable.", nameof(output));
        }

        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "Alignment must be a power of two.");
        }

        this.output = output;
        this.leaveOpen = leaveOpen;
        Alignment = alignment;
        if (alignment != DefaultAlignment)
        {
            AddMetadata(AlignmentKey, GgufValue.Of(alignment));
        }
    }

    /// <summary>Creates (or overwrites) <paramref name="path"/> with a large write buffer.</summary>
    public static GgufWriter Create(string path, uint alignment = DefaultAlignment)
    {
        var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        try
        {
            return new GgufWriter(stream, alignment);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    public uint Alignment { get; }

    public IReadOnlyList<GgufTensorInfo> Tensors => tensors;

    /// <summary>Bytes written so far (header included once it has been written).</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Size of the finished file; known once the header has been written.</summary>
    public long TotalLength => headerSize >= 0
        ? headerSize + dataSize
        : throw new InvalidOperationException("The total length is known once the header is written.");

    /// <summary>The tensor whose data the next <see cref="WriteTensorData"/> call continues, or null when all are written.</summary>
    public GgufTensorInfo? CurrentTensor => currentTensor < tensors.Count ? tensors[currentTensor] : null;

    public void AddMetadata(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        EnsureDeclaring();
        if (key == AlignmentKey)
        {
            if (!value.Equals(GgufValue.Of(Alignment)))
            {
                throw new ArgumentException(
                    $"'{AlignmentKey}' must be a u32 equal to the writer's alignment {Alignment}; pass the alignment to the constructor.",
                    nameof(value));
            }

            if (keys.Contains(key))
            {
                return;
            }
        }

        if (!keys.Add(key))
        {
            throw new ArgumentException($"Metadata key '{key}' was already added.", nameof(key));
        }

        metadata.Add(new(key, value));
    }

    /// <summary>Declares a tensor. <paramref name="dimensions"/> are in ggml order (fastest-varying first).</summary>
    public GgufTensorInfo AddTensor(string name, GgmlType type, params ReadOnlySpan<long> dimensions)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        EnsureDeclaring();
        if (dimensions.Length is < 1 or > GgufReader.MaxDimensions)
        {
            throw new ArgumentException($"Tensor '{name}' needs 1 to {GgufReader.MaxDimensions} dimensions.", nameof(dimensions));
        }

        if (Encoding.UTF8.GetByteCount(name) > GgufReader.MaxTensorNameBytes)
        {
            throw new ArgumentException($"Tensor name '{name}' is longer than {GgufReader.MaxTensorNameBytes} bytes.", nameof(name));
        }

        if (!GgmlTypeInfo.TryGetLayout(type, out var blockSize, out _))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown ggml type.");
        }

        if (dimensions[0] % blockSize != 0)
        {
            throw new ArgumentException($"Tensor '{name}': {type} rows must be a multiple of {blockSize} values, got {dimensions[0]}.", nameof(dimensions));
        }

        if (!tensorNames.Add(name))
        {
            throw new ArgumentException($"Tensor '{name}' was already added.", nameof(name));
        }

        var info = new GgufTensorInfo(name, type, dimensions.ToArray(), dataSize);
        tensors.Add(info);
        dataSize = Align(checked(dataSize + info.ByteCount));
        return info;
    }

    /// <summary>Writes header, metadata and tensor infos. Called by the first data write when not called before.</summary>
    public void WriteHeader()
    {
        EnsureDeclaring();
        var header = new ArrayBufferWriter<byte>(4096);
        header.Write(Magic);
        WriteUInt32(header, Version);
        WriteUInt64(header, (ulong)tensors.Count);
        WriteUInt64(header, (ulong)metadata.Count);
        foreach (var (key, value) in metadata)
        {
            WriteString(header, key);
            WriteUInt32(header, (uint)value.Type);
            WriteValue(header, value);
        }

        foreach (var tensor in tensors)
        {
            WriteString(header, tensor.Name);
            WriteUInt32(header, (uint)tensor.Dimensions.Count);
            foreach (var dimension in tensor.Dimensions)
            {
                WriteUInt64(header, (ulong)dimension);
            }

            WriteUInt32(header, (uint)tensor.Type);
            WriteUInt64(header, (ulong)tensor.Offset);
        }

        output.Write(header.WrittenSpan);
        BytesWritten = header.WrittenCount;
        WritePadding();
        headerSize = BytesWritten;
        SkipEmptyTensors();
    }

    /// <summary>
    /// Appends values to the current tensor, encoding them to its type. A chunk must not run past the end of the
    /// tensor, and for block types (Q8_0) must hold whole blocks.
    /// </summary>
    public void WriteTensorData(ReadOnlySpan<float> values)
    {
        var tensor = BeginData(values.Length);
        if (!GgmlEncoding.IsSupported(tensor.Type))
        {
            throw new NotSupportedException($"Tensor '{tensor.Name}' is {tensor.Type}; write it with WriteTensorBytes.");
        }

        var byteCount = (int)GgmlTypeInfo.ByteCount(tensor.Type, values.Length);
        if (encodeBuffer.Length < byteCount)
        {
            encodeBuffer = new byte[Math.Max(byteCount, 1 << 16)];
        }

        var encoded = encodeBuffer.AsSpan(0, byteCount);
        GgmlEncoding.Encode(tensor.Type, values, encoded);
        output.Write(encoded);
        EndData(tensor, values.Length, byteCount);
    }

    /// <summary>Appends already-encoded data (whole blocks) to the current tensor.</summary>
    public void WriteTensorBytes(ReadOnlySpan<byte> data)
    {
        var tensor = CurrentTensor ?? throw new InvalidOperationException("All tensors are already written.");
        var blockBytes = GgmlTypeInfo.BlockBytes(tensor.Type);
        if (data.Length % blockBytes != 0)
        {
            throw new ArgumentException($"Tensor '{tensor.Name}': {data.Length} bytes are not whole {tensor.Type} blocks of {blockBytes} bytes.", nameof(data));
        }

        var elements = (long)data.Length / blockBytes * GgmlTypeInfo.BlockSize(tensor.Type);
        tensor = BeginData(elements);
        output.Write(data);
        EndData(tensor, elements, data.Length);
    }

    /// <summary>Checks that all tensor data was written and flushes the stream.</summary>
    public void Complete()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (headerSize < 0)
        {
            WriteHeader();
        }

        if (CurrentTensor is { } missing)
        {
            throw new InvalidOperationException(
                $"Tensor '{missing.Name}' has {currentElements} of {missing.ElementCount} values written; {tensors.Count - currentTensor} tensor(s) incomplete.");
        }

        output.Flush();
        completed = true;
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        if (!leaveOpen)
        {
            output.Dispose();
        }
    }

    private GgufTensorInfo BeginData(long elements)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (headerSize < 0)
        {
            WriteHeader();
        }

        var tensor = CurrentTensor ?? throw new InvalidOperationException("All tensors are already written.");
        var remaining = tensor.ElementCount - currentElements;
        if (elements > remaining)
        {
            throw new ArgumentException($"Tensor '{tensor.Name}' has {remaining} values left to write, got {elements}.", nameof(elements));
        }

        var blockSize = GgmlTypeInfo.BlockSize(tensor.Type);
        if (elements % blockSize != 0)
        {
            throw new ArgumentException($"Tensor '{tensor.Name}' is {tensor.Type}: write whole blocks of {blockSize} values, got {elements}.", nameof(elements));
        }

        return tensor;
    }

    private void EndData(GgufTensorInfo tensor, long elements, long bytes)
    {
        BytesWritten += bytes;
        currentElements += elements;
        if (currentElements == tensor.ElementCount)
        {
            WritePadding();
            currentTensor++;
            currentElements = 0;
            SkipEmptyTensors();
        }
    }

    private void SkipEmptyTensors()
    {
        while (CurrentTensor is { ElementCount: 0 })
        {
            currentTensor++;
        }
    }

    private void EnsureDeclaring()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (headerSize >= 0 || completed)
        {
            throw new InvalidOperationException("The header is already written; declare metadata and tensors before writing data.");
        }
    }

    private void WritePadding()
    {
        var padding = (int)(Align(BytesWritten) - BytesWritten);
        if (padding > 0)
        {
            if (zeros.Length < padding)
            {
                zeros = new byte[padding];
            }

            output.Write(zeros, 0, padding);
            BytesWritten += padding;
        }
    }

    private long Align(long offset) => (offset + Alignment - 1) / Alignment * Alignment;

    private static void WriteValue(ArrayBufferWriter<byte> buffer, GgufValue value)
    {
        if (value.Value is Array array)
        {
            var elementType = value.ElementType!.Value;
            WriteUInt32(buffer, (uint)elementType);
            WriteUInt64(buffer, (ulong)array.Length);
            switch (array)
            {
                case string[] strings:
                    foreach (var s in strings)
                    {
                        WriteString(buffer, s);
                    }

                    break;
                case bool[] bools:
                    foreach (var b in bools)
                    {
                        WriteByte(buffer, b ? (byte)1 : (byte)0);
                    }

                    break;
                default:
                    foreach (var element in array)
                    {
                        WriteScalar(buffer, element);
                    }

                    break;
            }

            return;
        }

        WriteScalar(buffer, value.Value);
    }

    private static void WriteScalar(ArrayBufferWriter<byte> buffer, object value)
    {
        switch (value)
        {
            case byte v: WriteByte(buffer, v); break;
            case sbyte v: WriteByte(buffer, unchecked((byte)v)); break;
            case ushort v: BinaryPrimitives.WriteUInt16LittleEndian(buffer.GetSpan(2), v); buffer.Advance(2); break;
            case short v: BinaryPrimitives.WriteInt16LittleEndian(buffer.GetSpan(2), v); buffer.Advance(2); break;
            case uint v: WriteUInt32(buffer, v); break;
            case int v: BinaryPrimitives.WriteInt32LittleEndian(buffer.GetSpan(4), v); buffer.Advance(4); break;
            case float v: BinaryPrimitives.WriteSingleLittleEndian(buffer.GetSpan(4), v); buffer.Advance(4); break;
            case bool v: WriteByte(buffer, v ? (byte)1 : (byte)0); break;
            case string v: WriteString(buffer, v); break;
            case ulong v: WriteUInt64(buffer, v); break;
            case long v: BinaryPrimitives.WriteInt64LittleEndian(buffer.GetSpan(8), v); buffer.Advance(8); break;
            case double v: BinaryPrimitives.WriteDoubleLittleEndian(buffer.GetSpan(8), v); buffer.Advance(8); break;
            default: throw new InvalidOperationException($"Cannot write a {value.GetType()} as GGUF metadata.");
        }
    }

    private static void WriteByte(ArrayBufferWriter<byte> buffer, byte value)
    {
        buffer.GetSpan(1)[0] = value;
        buffer.Advance(1);
    }

    private static void WriteUInt32(ArrayBufferWriter<byte> buffer, uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.GetSpan(4), value);
        buffer.Advance(4);
    }

    private static void WriteUInt64(ArrayBufferWriter<byte> buffer, ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(buffer.GetSpan(8), value);
        buffer.Advance(8);
    }

    private static void WriteString(ArrayBufferWriter<byte> buffer, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteUInt64(buffer, (ulong)length);
        var written = Encoding.UTF8.GetBytes(value, buffer.GetSpan(length));
        buffer.Advance(written);
    }
}
