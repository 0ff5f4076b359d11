using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ChatPlatform.Inference.Gguf;

/// <summary>Converts floats to and from the tensor encodings the writer supports: F32, F16 and Q8_0.</summary>
public static class GgmlEncoding
{
    private const int Q8BlockSize = 32;
    private const int Q8BlockBytes = 34;

    /// <summary>True for the types <see cref="Encode"/> and <see cref="Decode"/> handle.</summary>
    public static bool IsSupported(GgmlType type) => type is GgmlType.F32 or GgmlType.F16 or GgmlType.Q8_0;

    /// <summary>Encodes <paramref name="source"/> into exactly <c>GgmlTypeInfo.ByteCount(type, source.Length)</c> bytes.</summary>
    public static void Encode(GgmlType type, ReadOnlySpan<float> source, Span<byte> destination)
    {
        var needed = GgmlTypeInfo.ByteCount(type, source.Length);
        if (destination.Length != needed)
        {
            throw new ArgumentException($"{type} needs {needed} bytes for {source.Length} values, got {destination.Length}.", nameof(destination));
        }

        switch (type)
        {
            case GgmlType.F32:
                EnsureLittleEndian();
                MemoryMarshal.AsBytes(source).CopyTo(destination);
                break;
            case GgmlType.F16:
                EnsureLittleEndian();
                EncodeF16(source, MemoryMarshal.Cast<byte, Half>(destination));
                break;
            case GgmlType.Q8_0:
                EncodeQ8_0(source, destination);
                break;
            default:
                throw new NotSupportedException($"Encoding to {type} is not supported (only F32, F16 and Q8_0).");
        }
    }

    /// <summary>Decodes <paramref name="source"/> (whole blocks of <paramref name="type"/>) into floats.</summary>
    public static void Decode(GgmlType type, ReadOnlySpan<byte> source, Span<float> destination)
    {
        var needed = GgmlTypeInfo.ByteCount(type, destination.Length);
        if (source.Length != needed)
        {
            throw new ArgumentException($"{destination.Length} {type} values take {needed} bytes, got {source.Length}.", nameof(source));
        }

        switch (type)
        {
            case GgmlType.F32:
                for (var i = 0; i < destination.Length; i++)
                {
                    destination[i] = BinaryPrimitives.ReadSingleLittleEndian(source[(i * 4)..]);
                }

                break;
            case GgmlType.F16:
                for (var i = 0; i < destination.Length; i++)
                {
                    destination[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(source[(i * 2)..]);
                }

                break;
            case GgmlType.Q8_0:
                for (var block = 0; block < destination.Length / Q8BlockSize; block++)
                {
                    var bytes = source.Slice(block * Q8BlockBytes, Q8BlockBytes);
                    var d = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes);
                    for (var j = 0; j < Q8BlockSize; j++)
                    {
                        destination[(block * Q8BlockSize) + j] = d * (sbyte)bytes[2 + j];
                    }
                }

                break;
            default:
                throw new NotSupportedException($"Decoding {type} is not supported (only F32, F16 and Q8_0).");
        }
    }

    private static void EncodeF16(ReadOnlySpan<float> source, Span<Half> destination)
    {
        for (var i = 0; i < source.Length; i++)
        {
            destination[i] = (Half)source[i];
        }
    }

    /// <summary>
    /// ggml's reference Q8_0: per block of 32, d = max|x| / 127 stored as f16, then round(x / d) as int8.
    /// Rounds halves to even in every code path so output does not depend on the hardware.
    /// </summary>
    private static void EncodeQ8_0(ReadOnlySpan<float> source, Span<byte> destination)
    {
        ref var src = ref MemoryMarshal.GetReference(source);
        for (var block = 0; block < source.Length / Q8BlockSize; block++)
        {
            var x = (nuint)(block * Q8BlockSize);
            var v0 = Vector256.LoadUnsafe(ref src, x);
            var v1 = Vector256.LoadUnsafe(ref src, x + 8);
            var v2 = Vector256.LoadUnsafe(ref src, x + 16);
            var v3 = Vector256.LoadUnsafe(ref src, x + 24);
            var max = Vector256.Max(
                Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)),
                Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
            var amax = HorizontalMax(max);
            var d = amax / 127f;
            var id = d != 0f ? 1f / d : 0f;

            var output = destination.Slice(block * Q8BlockBytes, Q8BlockBytes);
            BinaryPrimitives.WriteHalfLittleEndian(output, (Half)d);
            var scale = Vector256.Create(id);
            var low = Vector256.Narrow(Quantise(v0, scale), Quantise(v1, scale));
            var high = Vector256.Narrow(Quantise(v2, scale), Quantise(v3, scale));
            Vector256.Narrow(low, high).AsByte().CopyTo(output[2..]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Quantise(Vector256<float> values, Vector256<float> scale) =>
        Vector256.ConvertToInt32(Vector256.Round(values * scale));

    private static float HorizontalMax(Vector256<float> values)
    {
        var m = Vector128.Max(values.GetLower(), values.GetUpper());
        var a = MathF.Max(m.GetElement(0), m.GetElement(1));
        var b = MathF.Max(m.GetElement(2), m.GetElement(3));
        return MathF.Max(a, b);
    }

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("GGUF tensors are little-endian; big-endian hosts are not supported.");
        }
    }
}
