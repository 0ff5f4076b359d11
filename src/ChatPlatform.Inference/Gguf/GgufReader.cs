using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace ChatPlatform.Inference.Gguf;

/// <summary>
/// Reads and validates the header, metadata and tensor infos of a GGUF file (never the tensor data).
/// Anything malformed raises a <see cref="GgufFormatException"/> whose message names the problem.
/// Counts and lengths are checked against the bytes left in the file before anything is allocated.
/// </summary>
public static class GgufReader
{
    public const int MaxDimensions = 4;
    public const int MaxTensorNameBytes = 63;
    public const int MaxStringBytes = 64 << 20;
    public const int HeaderBytes = 24;

    public static GgufFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(stream, path);
    }

    /// <summary>Reads from a seekable stream positioned at the start of the file.</summary>
    public static GgufFile Read(Stream stream, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead || !stream.CanSeek)
        {
            throw new ArgumentException("The stream must be readable and seekable.", nameof(stream));
        }

        return new Parser(stream, path).Parse();
    }

    private sealed class Parser(Stream stream, string? path)
    {
        private const int MinMetadataEntryBytes = 8 + 4 + 1;
        private const int MinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;

        private readonly long fileLength = stream.Length - stream.Position;
        private readonly byte[] buffer = new byte[1 << 16];
        private int bufferStart;
        private int bufferEnd;
        private long position;
        private string what = "the header";
        private int elementIndex = -1;
        private int elementCount;

        /// <summary>What is being read, for error messages.</summary>
        private string What => elementIndex >= 0 ? $"{what} (element {elementIndex} of {elementCount})" : what;

        public GgufFile Parse()
        {
            if (fileLength == 0)
            {
                throw Fail("empty file (0 bytes)");
            }

            var magicLength = (int)Math.Min(4, fileLength);
            Fill(magicLength);
            var magic = buffer.AsSpan(bufferStart, magicLength);
            if (!"GGUF"u8.StartsWith(magic))
            {
                throw Fail($"not a GGUF file (magic '{Printable(magic)}')");
            }

            if (fileLength < HeaderBytes)
            {
                throw Fail($"truncated: file has {fileLength} bytes, too short for the {HeaderBytes}-byte GGUF header");
            }

            Skip(4);
            var version = ReadUInt32();
            if (version is not (2 or 3))
            {
                var swapped = BinaryPrimitives.ReverseEndianness(version);
                throw Fail(swapped is 2 or 3
                    ? $"big-endian GGUF (version {swapped}) is not supported"
                    : $"unsupported GGUF version {version} (supported: 2, 3)");
            }

            var tensorCount = ReadUInt64();
            var metadataCount = ReadUInt64();
            CheckCount(tensorCount, MinTensorInfoBytes, "tensor count");
            CheckCount(metadataCount, MinMetadataEntryBytes, "metadata entry count");

            var metadata = new Dictionary<string, GgufValue>(StringComparer.Ordinal);
            var keys = new List<string>();
            for (ulong i = 0; i < metadataCount; i++)
            {
                what = $"the key of metadata entry {i}";
                var key = ReadString();
                what = $"metadata '{key}'";
                var type = (GgufValueType)ReadUInt32();
                var value = ReadValue(type, key);
                if (!metadata.TryAdd(key, value))
                {
                    throw Fail($"duplicate metadata key '{key}'");
                }

                keys.Add(key);
            }

            var alignment = GgufWriter.DefaultAlignment;
            if (metadata.TryGetValue(GgufWriter.AlignmentKey, out var alignmentValue))
            {
                if (alignmentValue.Value is not uint a || a == 0 || (a & (a - 1)) != 0)
                {
                    throw Fail($"'{GgufWriter.AlignmentKey}' must be a power-of-two u32, got {alignmentValue}");
                }

                alignment = a;
            }

            CheckCount(tensorCount, MinTensorInfoBytes, "tensor count");
            var tensors = new List<GgufTensorInfo>((int)Math.Min(tensorCount, 4096));
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (ulong i = 0; i < tensorCount; i++)
            {
                tensors.Add(ReadTensorInfo(i, alignment, names));
            }

            var dataOffset = (position + alignment - 1) / alignment * alignment;
            CheckTensorData(tensors, dataOffset);
            return new GgufFile(path, version, alignment, dataOffset, fileLength, keys, metadata, tensors);
        }

        private GgufTensorInfo ReadTensorInfo(ulong index, uint alignment, HashSet<string> names)
        {
            what = $"the name of tensor info {index}";
            var name = ReadString();
            what = $"tensor info '{name}'";
            if (Encoding.UTF8.GetByteCount(name) > MaxTensorNameBytes)
            {
                throw Fail($"tensor name '{name}' is longer than {MaxTensorNameBytes} bytes");
            }

            if (!names.Add(name))
            {
                throw Fail($"duplicate tensor '{name}'");
            }

            var dimensionCount = ReadUInt32();
            if (dimensionCount is < 1 or > MaxDimensions)
            {
                throw Fail($"tensor '{name}' has {dimensionCount} dimensions (1 to {MaxDimensions} allowed)");
            }

            var dimensions = new long[dimensionCount];
            long elements = 1;
            for (var d = 0; d < dimensions.Length; d++)
            {
                var size = ReadUInt64();
                if (size > long.MaxValue || (size != 0 && elements > long.MaxValue / (long)size))
                {
                    throw Fail($"tensor '{name}' has an absurd shape (dimension {d} is {size})");
                }

                dimensions[d] = (long)size;
                elements *= (long)size;
            }

            var rawType = ReadUInt32();
            var type = (GgmlType)rawType;
            if (!GgmlTypeInfo.TryGetLayout(type, out var blockSize, out var blockBytes))
            {
                throw Fail($"tensor '{name}' has unknown ggml type {rawType}");
            }

            if (dimensions[0] % blockSize != 0)
            {
                throw Fail($"tensor '{name}' rows of {dimensions[0]} values are not whole {type} blocks of {blockSize}");
            }

            if (elements / blockSize > long.MaxValue / blockBytes)
            {
                throw Fail($"tensor '{name}' is absurdly large ({elements} values)");
            }

            var offset = ReadUInt64();
            if (offset > long.MaxValue)
            {
                throw Fail($"tensor '{name}' has an absurd offset {offset}");
            }

            if (offset % alignment != 0)
            {
                throw Fail($"tensor '{name}' offset {offset} is not a multiple of the alignment {alignment}");
            }

            return new GgufTensorInfo(name, type, dimensions, (long)offset);
        }

        private void CheckTensorData(List<GgufTensorInfo> tensors, long dataOffset)
        {
            GgufTensorInfo? previous = null;
            foreach (var tensor in tensors.OrderBy(t => t.Offset))
            {
                var end = dataOffset + tensor.Offset + tensor.ByteCount;
                if (end > fileLength || end < 0)
                {
                    throw Fail($"truncated: tensor '{tensor.Name}' data ends at byte {end} but file has {fileLength} bytes");
                }

                if (previous is not null && previous.Offset + previous.ByteCount > tensor.Offset)
                {
                    throw Fail($"tensor '{previous.Name}' data overlaps tensor '{tensor.Name}'");
                }

                previous = tensor;
            }
        }

        private GgufValue ReadValue(GgufValueType type, string key) => type switch
        {
            GgufValueType.UInt8 => GgufValue.Of(ReadByte()),
            GgufValueType.Int8 => GgufValue.Of(unchecked((sbyte)ReadByte())),
            GgufValueType.UInt16 => GgufValue.Of(BinaryPrimitives.ReadUInt16LittleEndian(Take(2))),
            GgufValueType.Int16 => GgufValue.Of(BinaryPrimitives.ReadInt16LittleEndian(Take(2))),
            GgufValueType.UInt32 => GgufValue.Of(ReadUInt32()),
            GgufValueType.Int32 => GgufValue.Of(BinaryPrimitives.ReadInt32LittleEndian(Take(4))),
            GgufValueType.Float32 => GgufValue.Of(BinaryPrimitives.ReadSingleLittleEndian(Take(4))),
            GgufValueType.Bool => GgufValue.Of(ReadBool()),
            GgufValueType.String => GgufValue.Of(ReadString()),
            GgufValueType.UInt64 => GgufValue.Of(ReadUInt64()),
            GgufValueType.Int64 => GgufValue.Of(BinaryPrimitives.ReadInt64LittleEndian(Take(8))),
            GgufValueType.Float64 => GgufValue.Of(BinaryPrimitives.ReadDoubleLittleEndian(Take(8))),
            GgufValueType.Array => ReadArray(key),
            _ => throw Fail($"metadata '{key}' has unknown value type {(uint)type}"),
        };

        private GgufValue ReadArray(string key)
        {
            var elementType = (GgufValueType)ReadUInt32();
            var count = ReadUInt64();
            var elementBytes = elementType switch
            {
                GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
                GgufValueType.UInt16 or GgufValueType.Int16 => 2,
                GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
                GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 or GgufValueType.String => 8,
                GgufValueType.Array => throw Fail($"metadata '{key}' is an array of arrays, which is not supported"),
                _ => throw Fail($"metadata '{key}' is an array of unknown value type {(uint)elementType}"),
            };
            CheckCount(count, elementBytes, $"array length of metadata '{key}'");
            var n = (int)count;
            return elementType switch
            {
                GgufValueType.UInt8 => GgufValue.Of(ReadElements(n, i => ReadByte())),
                GgufValueType.Int8 => GgufValue.Of(ReadElements(n, i => unchecked((sbyte)ReadByte()))),
                GgufValueType.Bool => GgufValue.Of(ReadElements(n, i => ReadBool())),
                GgufValueType.UInt16 => GgufValue.Of(ReadElements(n, i => BinaryPrimitives.ReadUInt16LittleEndian(Take(2)))),
                GgufValueType.Int16 => GgufValue.Of(ReadElements(n, i => BinaryPrimitives.ReadInt16LittleEndian(Take(2)))),
                GgufValueType.UInt32 => GgufValue.Of(ReadElements(n, i => ReadUInt32())),
                GgufValueType.Int32 => GgufValue.Of(ReadElements(n, i => BinaryPrimitives.ReadInt32LittleEndian(Take(4)))),
                GgufValueType.Float32 => GgufValue.Of(ReadElements(n, i => BinaryPrimitives.ReadSingleLittleEndian(Take(4)))),
                GgufValueType.UInt64 => GgufValue.Of(ReadElements(n, i => ReadUInt64())),
                GgufValueType.Int64 => GgufValue.Of(ReadElements(n, i => BinaryPrimitives.ReadInt64LittleEndian(Take(8)))),
                GgufValueType.Float64 => GgufValue.Of(ReadElements(n, i => BinaryPrimitives.ReadDoubleLittleEndian(Take(8)))),
                _ => GgufValue.Of(ReadStrings(n)),
            };
        }

        private string[] ReadStrings(int count)
        {
            var values = new string[count];
            elementCount = count;
            for (elementIndex = 0; elementIndex < count; elementIndex++)
            {
                values[elementIndex] = ReadString();
            }

            elementIndex = -1;
            return values;
        }

        private static T[] ReadElements<T>(int count, Func<int, T> read)
        {
            var values = new T[count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = read(i);
            }

            return values;
        }

        /// <summary>
        /// Rejects a count whose minimal encoding could not fit in the file (absurd) or in the rest of it
        /// (truncated), before anything of that size is allocated.
        /// </summary>
        private void CheckCount(ulong count, int minimumBytesEach, string name)
        {
            if (count > int.MaxValue || count > (ulong)(fileLength / minimumBytesEach))
            {
                throw Fail($"absurd {name} ({count}): a file of {fileLength} bytes cannot hold that many (truncated or corrupt)");
            }

            var remaining = fileLength - position;
            if (count > (ulong)(remaining / minimumBytesEach))
            {
                throw Fail($"truncated: {name} is {count} but only {remaining} bytes remain (file has {fileLength} bytes)");
            }
        }

        private string ReadString()
        {
            var length = ReadUInt64();
            if (length > (ulong)(fileLength - position))
            {
                throw Fail($"truncated: {What} claims a string of {length} bytes but the file ends at byte {fileLength}");
            }

            if (length > MaxStringBytes)
            {
                throw Fail($"string of {length} bytes in {What} exceeds the {MaxStringBytes >> 20} MiB limit");
            }

            var bytes = Take((int)length);
            return Encoding.UTF8.GetString(bytes);
        }

        private bool ReadBool()
        {
            var b = ReadByte();
            return b switch
            {
                0 => false,
                1 => true,
                _ => throw Fail($"{What} has a bool of value {b}"),
            };
        }

        private byte ReadByte() => Take(1)[0];

        private uint ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

        private ulong ReadUInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

        private void Skip(int count) => Take(count);

        /// <summary>Returns the next <paramref name="count"/> bytes (valid until the next read).</summary>
        private ReadOnlySpan<byte> Take(int count)
        {
            if (count < 0 || count > fileLength - position)
            {
                throw Fail($"truncated: file ends at byte {fileLength} while reading {What}");
            }

            if (count > buffer.Length)
            {
                var large = new byte[count];
                var buffered = bufferEnd - bufferStart;
                buffer.AsSpan(bufferStart, buffered).CopyTo(large);
                stream.ReadExactly(large, buffered, count - buffered);
                bufferStart = bufferEnd = 0;
                position += count;
                return large;
            }

            Fill(count);
            var span = buffer.AsSpan(bufferStart, count);
            bufferStart += count;
            position += count;
            return span;
        }

        /// <summary>Makes at least <paramref name="count"/> bytes available in the buffer (the caller checked they exist).</summary>
        private void Fill(int count)
        {
            if (bufferEnd - bufferStart >= count)
            {
                return;
            }

            var buffered = bufferEnd - bufferStart;
            Buffer.BlockCopy(buffer, bufferStart, buffer, 0, buffered);
            bufferStart = 0;
            bufferEnd = buffered;
            while (bufferEnd < count)
            {
                var read = stream.Read(buffer, bufferEnd, buffer.Length - bufferEnd);
                if (read == 0)
                {
                    throw Fail($"truncated: file ends at byte {position + bufferEnd - bufferStart} while reading {What}");
                }

                bufferEnd += read;
            }
        }

        private GgufFormatException Fail(string problem) => new(problem, path);

        private static string Printable(ReadOnlySpan<byte> bytes)
        {
            var text = new StringBuilder();
            foreach (var b in bytes)
            {
                if (b is >= 0x20 and < 0x7F and not (byte)'\'' and not (byte)'\\')
                {
                    text.Append((char)b);
                }
                else
                {
                    text.Append(CultureInfo.InvariantCulture, $"\\x{b:X2}");
                }
            }

            return text.ToString();
        }
    }
}
