using ChatPlatform.Inference.Gguf;
using Xunit;

namespace ChatPlatform.Inference.Tests.Gguf;

public sealed class GgufWriterTests
{
    private static readonly float[] Ramp = [.. Enumerable.Range(0, 64).Select(i => (i - 31.5f) / 8f)];

    [Fact]
    public void Write_EveryValueAndTensorType_RoundTripsThroughReader()
    {
        var metadata = new Dictionary<string, GgufValue>
        {
            ["general.architecture"] = GgufValue.Of("llama"),
            ["t.u8"] = GgufValue.Of((byte)200),
            ["t.i8"] = GgufValue.Of((sbyte)-100),
            ["t.u16"] = GgufValue.Of((ushort)60000),
            ["t.i16"] = GgufValue.Of((short)-30000),
            ["t.u32"] = GgufValue.Of(4_000_000_000u),
            ["t.i32"] = GgufValue.Of(-2_000_000_000),
            ["t.f32"] = GgufValue.Of(1.5f),
            ["t.bool"] = GgufValue.Of(true),
            ["t.string"] = GgufValue.Of("héllo ▁世界"),
            ["t.u64"] = GgufValue.Of(ulong.MaxValue),
            ["t.i64"] = GgufValue.Of(long.MinValue),
            ["t.f64"] = GgufValue.Of(Math.PI),
            ["t.a.u8"] = GgufValue.Of((byte[])[1, 2, 255]),
            ["t.a.i8"] = GgufValue.Of((sbyte[])[-1, 0, 1]),
            ["t.a.u16"] = GgufValue.Of((ushort[])[1, 65535]),
            ["t.a.i16"] = GgufValue.Of((short[])[-2, 2]),
            ["t.a.u32"] = GgufValue.Of((uint[])[3, 4]),
            ["t.a.i32"] = GgufValue.Of((int[])[-5, 6]),
            ["t.a.f32"] = GgufValue.Of((float[])[0.25f, -1e-6f]),
            ["t.a.bool"] = GgufValue.Of((bool[])[true, false]),
            ["t.a.string"] = GgufValue.Of((string[])["<s>", "", "你好"]),
            ["t.a.u64"] = GgufValue.Of((ulong[])[7]),
            ["t.a.i64"] = GgufValue.Of((long[])[-7]),
            ["t.a.f64"] = GgufValue.Of((double[])[2.5, -0.125]),
            ["t.a.empty"] = GgufValue.Of(Array.Empty<string>()),
        };
        using var stream = new MemoryStream();
        using (var writer = new GgufWriter(stream, leaveOpen: true))
        {
            foreach (var (key, value) in metadata)
            {
                writer.AddMetadata(key, value);
            }

            writer.AddTensor("a.f32", GgmlType.F32, 3);
            writer.AddTensor("b.f16", GgmlType.F16, 5, 2);
            writer.AddTensor("c.q8", GgmlType.Q8_0, 32, 2);
            writer.WriteTensorData([1f, 2f, 3f]);
            writer.WriteTensorData(new float[10]);
            writer.WriteTensorData(Ramp);
            writer.Complete();
            Assert.Equal(writer.TotalLength, stream.Length);
        }

        stream.Position = 0;
        var file = GgufReader.Read(stream);

        Assert.Equal(3u, file.Version);
        Assert.Equal(32u, file.Alignment);
        Assert.Equal(metadata.Keys, file.Keys);
        foreach (var (key, value) in metadata)
        {
            Assert.Equal(value, file.Metadata[key]);
        }

        Assert.Equal(["a.f32", "b.f16", "c.q8"], file.Tensors.Select(t => t.Name));
        Assert.Equal([GgmlType.F32, GgmlType.F16, GgmlType.Q8_0], file.Tensors.Select(t => t.Type));
        Assert.Equal([5L, 2L], file.Tensors[1].Dimensions);
        Assert.Equal([0L, 32L, 64L], file.Tensors.Select(t => t.Offset));
        Assert.Equal(68, file.Tensors[2].ByteCount);
        Assert.Equal(0, file.DataOffset % 32);
        Assert.Equal(file.DataOffset + 64 + 96, stream.Length);
    }

    [Fact]
    public void WriteTensorData_F32F16AndQ8_0_DecodeBackToTheWrittenValues()
    {
        var values = Ramp.Concat(Ramp.Select(v => v * -0.01f)).ToArray();
        using var stream = new MemoryStream();
        using (var writer = new GgufWriter(stream, leaveOpen: true))
        {
            writer.AddTensor("f32", GgmlType.F32, 64, 2);
            writer.AddTensor("f16", GgmlType.F16, 64, 2);
            writer.AddTensor("q8", GgmlType.Q8_0, 64, 2);
            for (var i = 0; i < 3; i++)
            {
                // Two chunks per tensor: data may arrive in pieces.
                writer.WriteTensorData(values.AsSpan(0, 64));
                writer.WriteTensorData(values.AsSpan(64));
            }

            writer.Complete();
        }

        stream.Position = 0;
        var file = GgufReader.Read(stream);
        float[] Decode(GgufTensorInfo tensor)
        {
            var bytes = stream.ToArray().AsSpan((int)file.DataPosition(tensor), (int)tensor.ByteCount);
            var decoded = new float[tensor.ElementCount];
            GgmlEncoding.Decode(tensor.Type, bytes, decoded);
            return decoded;
        }

        Assert.Equal(values, Decode(file.Tensors[0]));
        var f16 = Decode(file.Tensors[1]);
        var q8 = Decode(file.Tensors[2]);
        for (var i = 0; i < values.Length; i++)
        {
            Assert.Equal(values[i], f16[i], 0.002f);
            var blockMax = values.Skip(i / 32 * 32).Take(32).Max(MathF.Abs);
            Assert.Equal(values[i], q8[i], (blockMax / 127f * 0.51f) + 1e-3f);
        }
    }

    [Fact]
    public void Write_CustomAlignment_AlignsDataSectionAndOffsets()
    {
        using var stream = new MemoryStream();
        using (var writer = new GgufWriter(stream, alignment: 64, leaveOpen: true))
        {
            writer.AddTensor("x", GgmlType.F32, 3);
            writer.AddTensor("y", GgmlType.F32, 5);
            writer.WriteTensorData([1f, 2f, 3f]);
            writer.WriteTensorData([1f, 2f, 3f, 4f, 5f]);
            writer.Complete();
        }

        stream.Position = 0;
        var file = GgufReader.Read(stream);

        Assert.Equal(64u, file.Alignment);
        Assert.Equal(GgufValue.Of(64u), file.Metadata[GgufWriter.AlignmentKey]);
        Assert.Equal(0, file.DataOffset % 64);
        Assert.Equal([0L, 64L], file.Tensors.Select(t => t.Offset));
    }

    [Fact]
    public void WriteTensorData_MoreValuesThanTheTensorHolds_Throws()
    {
        using var writer = new GgufWriter(new MemoryStream());
        writer.AddTensor("x", GgmlType.F32, 4);

        var error = Assert.Throws<ArgumentException>(() => writer.WriteTensorData(new float[5]));

        Assert.Contains("'x' has 4 values left", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteTensorData_PartialQ8_0Block_Throws()
    {
        using var writer = new GgufWriter(new MemoryStream());
        writer.AddTensor("q", GgmlType.Q8_0, 64);

        var error = Assert.Throws<ArgumentException>(() => writer.WriteTensorData(new float[16]));

        Assert.Contains("whole blocks of 32", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddTensor_Q8_0RowNotAMultipleOf32_Throws()
    {
        using var writer = new GgufWriter(new MemoryStream());

        var error = Assert.Throws<ArgumentException>(() => writer.AddTensor("q", GgmlType.Q8_0, 48, 2));

        Assert.Contains("multiple of 32", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddTensor_DuplicateName_Throws()
    {
        using var writer = new GgufWriter(new MemoryStream());
        writer.AddTensor("x", GgmlType.F32, 1);

        Assert.Throws<ArgumentException>(() => writer.AddTensor("x", GgmlType.F32, 1));
    }

    [Fact]
    public void Complete_TensorDataMissing_ThrowsNamingTheTensor()
    {
        using var writer = new GgufWriter(new MemoryStream());
        writer.AddTensor("x", GgmlType.F32, 4);
        writer.AddTensor("y", GgmlType.F32, 4);
        writer.WriteTensorData(new float[4]);
        writer.WriteTensorData(new float[2]);

        var error = Assert.Throws<InvalidOperationException>(writer.Complete);

        Assert.Contains("'y' has 2 of 4 values written", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddMetadata_AfterHeaderWritten_Throws()
    {
        using var writer = new GgufWriter(new MemoryStream());
        writer.WriteHeader();

        Assert.Throws<InvalidOperationException>(() => writer.AddMetadata("k", GgufValue.Of(1)));
    }
}
