using ChatPlatform.Inference.Gguf;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Cli.Tests;

/// <summary>
/// <c>model quantize</c> through llama.cpp's quantiser on the generated tiny model (F32, 64 wide): the result reads
/// back with the asked types, loads and generates; bad input gets one line and leaves no file behind.
/// </summary>
public sealed class ModelQuantizeCommandTests
{
    [Theory]
    [InlineData("q8_0", "Q8_0", GgmlType.Q8_0)]
    [InlineData("q4_0", "Q4_0", GgmlType.Q4_0)]
    // The tiny model's rows (64, 192) do not fill a 256-value k-quant block, so llama.cpp falls back to Q5_0 for them.
    [InlineData("q4_k_m", "Q4_K_M", GgmlType.Q5_0)]
    public async Task Quantize_TinyF32_InspectReadsTheTypeAndChatGenerates(string type, string fileType, GgmlType weightType)
    {
        var folder = TestModels.CreateScratchFolder();
        var output = Path.Combine(folder, $"tiny-{type}.gguf");

        var result = await CliRunner.RunAsync("model", "quantize", TestModels.TinyPath, output, "--type", type, "--threads", "2");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("quantising", result.Error, StringComparison.Ordinal);
        Assert.Contains("[39/39]", result.Error, StringComparison.Ordinal);
        Assert.Equal([Path.GetFileName(output)], Directory.GetFileSystemEntries(folder).Select(Path.GetFileName));

        var inspect = await CliRunner.RunAsync("model", "inspect", output);
        Assert.Equal(0, inspect.ExitCode);
        Assert.Contains($"quantisation:    {fileType} (tensors: ", inspect.Out, StringComparison.Ordinal);
        var input = GgufFile.Read(TestModels.TinyPath);
        var quantised = GgufFile.Read(output);
        Assert.Equal(input.Info.ParameterCount, quantised.Info.ParameterCount);
        Assert.Equal(weightType, quantised.FindTensor("blk.0.attn_q.weight")!.Type);
        Assert.Equal(GgmlType.F32, quantised.FindTensor("blk.0.attn_norm.weight")!.Type);
        Assert.True(quantised.Info.FileLength < input.Info.FileLength / 3);

        var chat = await CliRunner.RunAsync("chat", "--model", output, "--personas", RepoPaths.Personas, "--safety-dir", RepoPaths.Safety,
            "--persona", "gradchat", "--locale", "en", "--message", "hi", "--seed", "1", "--threads", "2");
        Assert.Equal(0, chat.ExitCode);
        Assert.False(string.IsNullOrWhiteSpace(chat.Out), chat.Error);
    }

    [Fact]
    public async Task Quantize_UnknownType_ListsTheValidTypes()
    {
        var folder = TestModels.CreateScratchFolder();

        var result = await CliRunner.RunAsync("model", "quantize", TestModels.TinyPath, Path.Combine(folder, "x.gguf"), "--type", "q9_k");

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.Error.Trim().Split('\n'));
        Assert.StartsWith("--type q9_k: unknown quantisation type; valid types: ", line, StringComparison.Ordinal);
        Assert.Contains("q4_k_m", line, StringComparison.Ordinal);
        Assert.Contains("q8_0", line, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(folder));
    }

    [Theory]
    [InlineData("text", "not a GGUF file")]
    [InlineData("missing", "file not found")]
    [InlineData("adapter", "is a LoRA adapter")]
    public async Task Quantize_InputThatIsNoModel_OneLineNamingTheFileAndNothingWritten(string kind, string reason)
    {
        var folder = TestModels.CreateScratchFolder();
        var input = Path.Combine(folder, kind + ".gguf");
        if (kind == "text") await File.WriteAllTextAsync(input, "hello, I am not a model", TestContext.Current.CancellationToken);
        if (kind == "adapter") File.Copy(TestModels.LoraPath, input);
        var output = Path.Combine(folder, "out", "x.gguf");

        var result = await CliRunner.RunAsync("model", "quantize", input, output, "--type", "q8_0");

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.Error.Trim().Split('\n'));
        Assert.StartsWith(input + ": ", line, StringComparison.Ordinal);
        Assert.Contains(reason, line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.GetDirectoryName(output)));
    }

    [Fact]
    public async Task Quantize_AlreadyQuantised_RefusedUnlessRequantizeIsAllowed()
    {
        var folder = TestModels.CreateScratchFolder();
        var q8 = Path.Combine(folder, "q8.gguf");
        Assert.Equal(0, (await CliRunner.RunAsync("model", "quantize", TestModels.TinyPath, q8, "--type", "q8_0", "--threads", "2")).ExitCode);
        var q4 = Path.Combine(folder, "q4.gguf");

        var refused = await CliRunner.RunAsync("model", "quantize", q8, q4, "--type", "q4_0");
        var allowed = await CliRunner.RunAsync("model", "quantize", q8, q4, "--type", "q4_0", "--allow-requantize", "--threads", "2");

        Assert.NotEqual(0, refused.ExitCode);
        var line = Assert.Single(refused.Error.Trim().Split('\n'));
        Assert.Contains("already quantised (Q8_0", line, StringComparison.Ordinal);
        Assert.Contains("--allow-requantize", line, StringComparison.Ordinal);
        Assert.Equal(0, allowed.ExitCode);
        Assert.Equal(GgmlType.Q4_0, GgufFile.Read(q4).FindTensor("blk.0.attn_q.weight")!.Type);
    }

    [Fact]
    public async Task Quantize_ArchitectureLlamaCppDoesNotKnow_ItsReasonInOneLine_NoPartialFileLeft()
    {
        var folder = TestModels.CreateScratchFolder();
        var input = Path.Combine(folder, "odd.gguf");
        // Same length, so every offset stays valid: the metadata now names an architecture llama.cpp lacks.
        var bytes = await File.ReadAllBytesAsync(TestModels.TinyPath, TestContext.Current.CancellationToken);
        ReplaceAll(bytes, "llama."u8, "llamb."u8);
        ReplaceAll(bytes, "\u0005\0\0\0\0\0\0\0llama"u8, "\u0005\0\0\0\0\0\0\0llamb"u8);
        await File.WriteAllBytesAsync(input, bytes, TestContext.Current.CancellationToken);
        var output = Path.Combine(folder, "x.gguf");

        var result = await CliRunner.RunAsync("model", "quantize", input, output, "--type", "q8_0", "--threads", "2");

        Assert.NotEqual(0, result.ExitCode);
        var line = result.Error.Trim().Split('\n')[^1];
        Assert.Equal($"{input}: cannot be quantised to q8_0: unknown model architecture: 'llamb'.", line);
        Assert.Equal(["odd.gguf"], Directory.GetFileSystemEntries(folder).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Quantize_CancelledWhileWriting_LeavesNothingBehind()
    {
        var folder = TestModels.CreateScratchFolder();
        var output = Path.Combine(folder, "x.gguf");
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var progress = new CancelOnFirstTensor(cancellation);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Inference.Models.ModelQuantizer.QuantizeAsync(
            TestModels.TinyPath, output, Inference.Models.ModelQuantizer.FindType("q8_0")!, 2, false, progress, cancellation.Token));

        Assert.True(progress.SawTensor);
        Assert.Empty(Directory.GetFileSystemEntries(folder));
    }

    private sealed class CancelOnFirstTensor(CancellationTokenSource source) : IProgress<Inference.Models.QuantizationProgress>
    {
        public bool SawTensor { get; private set; }

        public void Report(Inference.Models.QuantizationProgress value)
        {
            if (value.TensorIndex == 0) return;
            SawTensor = true;
            source.Cancel();
        }
    }

    private static void ReplaceAll(byte[] bytes, ReadOnlySpan<byte> from, ReadOnlySpan<byte> to)
    {
        for (var i = bytes.AsSpan().IndexOf(from); i >= 0;)
        {
            to.CopyTo(bytes.AsSpan(i));
            var next = bytes.AsSpan(i + 1).IndexOf(from);
            i = next < 0 ? -1 : i + 1 + next;
        }
    }
}
