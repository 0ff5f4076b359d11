using ChatPlatform.Inference.Gguf;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Inference.Tests.Gguf;

public sealed class FixtureModelsTests
{
    [Fact]
    public void WriteTiny_SameSeed_WritesIdenticalBytes()
    {
        var folder = TestModels.CreateScratchFolder();
        var path = Path.Combine(folder, "again.gguf");

        FixtureModels.WriteTiny(path, TestModels.Seed, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(File.ReadAllBytes(TestModels.TinyPath), File.ReadAllBytes(path));
    }

    [Fact]
    public void WriteTiny_DifferentSeed_WritesDifferentWeights()
    {
        var path = Path.Combine(TestModels.CreateScratchFolder(), "other.gguf");

        FixtureModels.WriteTiny(path, TestModels.Seed + 1, cancellationToken: TestContext.Current.CancellationToken);

        var original = File.ReadAllBytes(TestModels.TinyPath);
        var other = File.ReadAllBytes(path);
        Assert.Equal(original.Length, other.Length);
        Assert.NotEqual(original, other);
    }

    [Fact]
    public void WriteTiny_Summary_DescribesASmallLlamaChatModel()
    {
        var info = GgufFile.Read(TestModels.TinyPath).Info;

        Assert.Equal(GgufModelInfo.ModelKind, info.Kind);
        Assert.Equal("llama", info.Architecture);
        Assert.Equal("ChatPlatform tiny fixture", info.Name);
        Assert.Equal(8192, info.ContextLength);
        Assert.Equal(64, info.EmbeddingLength);
        Assert.Equal(4, info.BlockCount);
        Assert.Equal("F32", info.Quantization);
        Assert.Equal("llama", info.TokenizerModel);
        Assert.InRange(info.VocabularySize ?? 0, 1000, 10_000);
        Assert.Contains("<|im_start|>", info.ChatTemplate, StringComparison.Ordinal);
        Assert.InRange(info.ParameterCount, 100_000, 2_000_000);
    }

    [Fact]
    public void WriteLora_Summary_DescribesARank4AdapterOnThreeTensorsPerBlock()
    {
        var file = GgufFile.Read(TestModels.LoraPath);
        var info = file.Info;

        Assert.Equal(GgufModelInfo.AdapterKind, info.Kind);
        Assert.True(info.IsAdapter);
        Assert.Equal("llama", info.Architecture);
        Assert.Equal(new GgufAdapterInfo("lora", 4f, 4, 4 * 3), info.Adapter);
        var a = file.FindTensor("blk.0.attn_v.weight.lora_a");
        var b = file.FindTensor("blk.0.attn_v.weight.lora_b");
        Assert.NotNull(a);
        Assert.NotNull(b);
        Assert.Equal([64L, 4L], a.Dimensions);
        Assert.Equal([4L, 32L], b.Dimensions);
    }

    [Fact]
    public void WriteLora_SameSeed_WritesIdenticalBytes()
    {
        var path = Path.Combine(TestModels.CreateScratchFolder(), "lora.gguf");

        FixtureModels.WriteLora(TestModels.TinyPath, path, TestModels.Seed, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(File.ReadAllBytes(TestModels.LoraPath), File.ReadAllBytes(path));
    }

    [Fact]
    public void WriteLora_BaseIsNotGguf_ThrowsGgufFormatException()
    {
        var folder = TestModels.CreateScratchFolder();
        var notAModel = Path.Combine(folder, "notes.txt");
        File.WriteAllText(notAModel, "just some text");

        var error = Assert.Throws<GgufFormatException>(
            () => FixtureModels.WriteLora(notAModel, Path.Combine(folder, "lora.gguf"), 1, cancellationToken: TestContext.Current.CancellationToken));

        Assert.StartsWith("not a GGUF file", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder, "lora.gguf")));
    }

    [Fact]
    public void WriteLora_BaseIsAnAdapter_ThrowsArgumentException()
    {
        var folder = TestModels.CreateScratchFolder();

        var error = Assert.Throws<ArgumentException>(
            () => FixtureModels.WriteLora(TestModels.LoraPath, Path.Combine(folder, "lora.gguf"), 1, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("is an adapter, not a base model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteTiny_Progress_IsReportedUpToCompletion()
    {
        var reports = new List<double>();
        var path = Path.Combine(TestModels.CreateScratchFolder(), "progress.gguf");

        FixtureModels.WriteTiny(path, 3, new SynchronousProgress(reports.Add), TestContext.Current.CancellationToken);

        Assert.True(reports.Count > 2);
        Assert.Equal(1.0, reports[^1]);
        Assert.Equal(reports.Order(), reports);
    }

    [Fact]
    public void WriteTiny_Cancelled_LeavesNoFileBehind()
    {
        var folder = TestModels.CreateScratchFolder();
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        Assert.Throws<OperationCanceledException>(
            () => FixtureModels.WriteTiny(Path.Combine(folder, "cancelled.gguf"), 1, cancellationToken: cancellation.Token));

        Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
    }

    private sealed class SynchronousProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
