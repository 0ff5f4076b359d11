using System.Buffers.Binary;
using System.Text;
using ChatPlatform.Inference.Gguf;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Inference.Tests.Gguf;

public sealed class GgufReaderTests
{
    private const string TensorName = "blk.3.ffn_up.weight";

    // Layout of SmallFile(): header (24 bytes), then "general.architecture" (type at 52, value to 69),
    // then "tokenizer.ggml.tokens" (type at 98, element type at 102, count at 106).
    private const int TensorCountAt = 8;
    private const int FirstValueTypeAt = 52;
    private const int ArrayCountAt = 106;

    [Fact]
    public void Read_EmptyFile_ThrowsNamingEmptyFile()
    {
        var path = WriteFile([]);

        var error = Assert.Throws<GgufFormatException>(() => GgufFile.Read(path));

        Assert.Equal("empty file (0 bytes)", error.Message);
        Assert.Equal(path, error.FilePath);
    }

    [Fact]
    public void Read_ZipFile_ThrowsNotAGgufFileWithTheMagic()
    {
        var path = WriteFile([0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00]);

        var error = Assert.Throws<GgufFormatException>(() => GgufFile.Read(path));

        Assert.Equal(@"not a GGUF file (magic 'PK\x03\x04')", error.Message);
    }

    [Fact]
    public void Read_TextFile_ThrowsNotAGgufFile()
    {
        var path = WriteFile(Encoding.UTF8.GetBytes("hello world"));

        var error = Assert.Throws<GgufFormatException>(() => GgufFile.Read(path));

        Assert.Equal("not a GGUF file (magic 'hell')", error.Message);
    }

    [Fact]
    public void Read_OnlyMagic_ThrowsTruncatedHeader()
    {
        var error = Assert.Throws<GgufFormatException>(() => Read(SmallFile()[..10]));

        Assert.Equal("truncated: file has 10 bytes, too short for the 24-byte GGUF header", error.Message);
    }

    [Fact]
    public void Read_UnsupportedVersion_ThrowsNamingTheVersion()
    {
        var bytes = SmallFile();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), 1);

        var error = Assert.Throws<GgufFormatException>(() => Read(bytes));

        Assert.Equal("unsupported GGUF version 1 (supported: 2, 3)", error.Message);
    }

    [Fact]
    public void Read_TruncatedInMetadata_ThrowsNamingTheKey()
    {
        var error = Assert.Throws<GgufFormatException>(() => Read(SmallFile()[..100]));

        Assert.StartsWith("truncated:", error.Message, StringComparison.Ordinal);
        Assert.Contains("metadata 'tokenizer.ggml.tokens'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_TruncatedInsideAnArray_ThrowsTruncatedNamingTheKey()
    {
        var error = Assert.Throws<GgufFormatException>(() => Read(SmallFile()[..128]));

        Assert.Equal(
            "truncated: array length of metadata 'tokenizer.ggml.tokens' is 3 but only 14 bytes remain (file has 128 bytes)",
            error.Message);
    }

    [Fact]
    public void Read_TruncatedInsideAString_ThrowsTruncatedNamingTheElement()
    {
        var error = Assert.Throws<GgufFormatException>(() => Read(SmallFile()[..138]));

        Assert.Equal(
            "truncated: file ends at byte 138 while reading metadata 'tokenizer.ggml.tokens' (element 2 of 3)",
            error.Message);
    }

    [Fact]
    public void Read_TruncatedTensorData_ThrowsNamingTheTensorAndSizes()
    {
        var bytes = SmallFile();
        var truncated = bytes[..^16];

        var error = Assert.Throws<GgufFormatException>(() => Read(truncated));

        Assert.Equal(
            $"truncated: tensor '{TensorName}' data ends at byte {bytes.Length} but file has {truncated.Length} bytes",
            error.Message);
    }

    [Fact]
    public void Read_TruncatedTinyModel_ThrowsTruncated()
    {
        var path = Path.Combine(TestModels.CreateScratchFolder(), "half.gguf");
        var bytes = File.ReadAllBytes(TestModels.TinyPath);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var error = Assert.Throws<GgufFormatException>(() => GgufFile.Read(path));

        Assert.Matches(@"^truncated: tensor '[^']+' data ends at byte \d+ but file has \d+ bytes$", error.Message);
    }

    [Fact]
    public void Read_AbsurdTensorCount_ThrowsBeforeAllocating()
    {
        var bytes = SmallFile();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(TensorCountAt), 1UL << 40);

        var error = Assert.Throws<GgufFormatException>(() => Read(bytes));

        Assert.StartsWith($"absurd tensor count ({1UL << 40})", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_AbsurdArrayLength_ThrowsBeforeAllocating()
    {
        var bytes = SmallFile();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(ArrayCountAt), ulong.MaxValue / 2);

        var error = Assert.Throws<GgufFormatException>(() => Read(bytes));

        Assert.StartsWith("absurd array length of metadata 'tokenizer.ggml.tokens' (", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_UnknownValueType_ThrowsNamingTheKey()
    {
        var bytes = SmallFile();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(FirstValueTypeAt), 99);

        var error = Assert.Throws<GgufFormatException>(() => Read(bytes));

        Assert.Equal("metadata 'general.architecture' has unknown value type 99", error.Message);
    }

    [Fact]
    public void Read_UnknownTensorType_ThrowsNamingTheTensor()
    {
        var bytes = SmallFile();
        var name = Encoding.UTF8.GetBytes(TensorName);
        var typeAt = bytes.AsSpan().IndexOf(name) + name.Length + 4 + (2 * 8);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(typeAt), 77);

        var error = Assert.Throws<GgufFormatException>(() => Read(bytes));

        Assert.Equal($"tensor '{TensorName}' has unknown ggml type 77", error.Message);
    }

    [Fact]
    public void Read_ValidFile_SummarisesIt()
    {
        var info = Read(SmallFile()).Info;

        Assert.Equal("model", info.Kind);
        Assert.Equal("llama", info.Architecture);
        Assert.Equal(8, info.ParameterCount);
        Assert.Equal("F32", info.Quantization);
        Assert.Equal(3, info.VocabularySize);
        Assert.Null(info.Adapter);
    }

    [Fact]
    public void Info_NoFileTypeAndMixedTensorTypes_ReportsTheMix()
    {
        using var stream = new MemoryStream();
        using (var writer = new GgufWriter(stream, leaveOpen: true))
        {
            writer.AddTensor("a", GgmlType.F16, 32);
            writer.AddTensor("b", GgmlType.F32, 32);
            writer.WriteTensorData(new float[32]);
            writer.WriteTensorData(new float[32]);
            writer.Complete();
        }

        var info = Read(stream.ToArray()).Info;

        Assert.Equal("mixed F32+F16", info.Quantization);
        Assert.Equal(2, info.TensorTypeCounts.Count);
    }

    private static GgufFile Read(byte[] bytes)
    {
        using var stream = new MemoryStream(bytes);
        return GgufReader.Read(stream);
    }

    private static string WriteFile(byte[] bytes)
    {
        var path = Path.Combine(TestModels.CreateScratchFolder(), "file.gguf");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] SmallFile()
    {
        using var stream = new MemoryStream();
        using (var writer = new GgufWriter(stream, leaveOpen: true))
        {
            writer.AddMetadata("general.architecture", GgufValue.Of("llama"));
            writer.AddMetadata("tokenizer.ggml.tokens", GgufValue.Of((string[])["a", "b", "c"]));
            writer.AddTensor(TensorName, GgmlType.F32, 4, 2);
            writer.WriteTensorData(new float[8]);
            writer.Complete();
        }

        return stream.ToArray();
    }
}
