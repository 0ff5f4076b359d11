using System.Text.Json;
using ChatPlatform.Inference.Models;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Cli.Tests;

/// <summary>
/// <c>adapter train</c> with llama.cpp's training on the generated tiny model: loss per epoch on the terminal, an
/// adapter that <c>model inspect</c> reads as a LoRA adapter fitting its base; bad input gets one line and no file.
/// </summary>
public sealed class AdapterTrainCommandTests
{
    private static string WriteData(string folder, params string[] lines)
    {
        var path = Path.Combine(folder, "data.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    private static string Conversation(string question, string reply) => JsonSerializer.Serialize(new
    {
        messages = new[] { new { role = "system", content = "dropped for the persona's prompt" }, new { role = "user", content = question }, new { role = "assistant", content = reply } },
    });

    [Fact]
    public async Task Train_TinyWithPersona_PrintsLossPerEpoch_InspectReadsALoraAdapterThatFitsTheBase()
    {
        var folder = TestModels.CreateScratchFolder();
        var data = WriteData(folder, Conversation("hello", "你好 friend how can I help you"), Conversation("what should I read", "看 a good story book"));
        var output = Path.Combine(folder, "gradchat.lora.gguf");

        var result = await CliRunner.RunAsync("adapter", "train", "--base", TestModels.TinyPath, "--data", data, "--persona", "gradchat",
            "--personas", RepoPaths.Personas, "--rank", "8", "--epochs", "3", "--lr", "5e-3", "--threads", "1", "--out", output);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("epoch 0/3 (before training): reply loss ", result.Out, StringComparison.Ordinal);
        Assert.Contains("epoch 3/3: reply loss ", result.Out, StringComparison.Ordinal);
        Assert.Contains($"wrote {output} (LoRA rank 8 on 5 tensors", result.Out, StringComparison.Ordinal);
        Assert.Contains("checked: a LoRA adapter for llama", result.Out, StringComparison.Ordinal);
        Assert.Equal(["data.jsonl", "gradchat.lora.gguf"], Directory.GetFileSystemEntries(folder).Select(Path.GetFileName).Order());

        var inspect = await CliRunner.RunAsync("model", "inspect", output, "--base", TestModels.TinyPath);
        Assert.Equal(0, inspect.ExitCode);
        Assert.Contains("kind:            adapter", inspect.Out, StringComparison.Ordinal);
        Assert.Contains("adapter type:    lora", inspect.Out, StringComparison.Ordinal);
        Assert.Contains("lora rank:       8", inspect.Out, StringComparison.Ordinal);
        Assert.Contains("adapted tensors: 5", inspect.Out, StringComparison.Ordinal);
        Assert.Contains("fits base:       yes", inspect.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inspect_WithABaseThatIsItselfAnAdapter_SaysSo()
    {
        var inspect = await CliRunner.RunAsync("model", "inspect", TestModels.LoraPath, "--base", TestModels.LoraPath);

        Assert.NotEqual(0, inspect.ExitCode);
        Assert.Contains("is an adapter, not a model", inspect.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Train_UnknownPersona_OneLineNamingIt()
    {
        var folder = TestModels.CreateScratchFolder();
        var data = WriteData(folder, Conversation("hi", "hello"));

        var result = await CliRunner.RunAsync("adapter", "train", "--base", TestModels.TinyPath, "--data", data, "--persona", "nobody",
            "--personas", RepoPaths.Personas, "--out", Path.Combine(folder, "x.gguf"));

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.Error.Trim().Split('\n'));
        Assert.StartsWith("--persona: unknown persona 'nobody'", line, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder, "x.gguf")));
    }

    [Fact]
    public async Task Train_QuantisedBase_OneLineReason()
    {
        var folder = TestModels.CreateScratchFolder();
        var quantised = Path.Combine(folder, "tiny-q8.gguf");
        await ModelQuantizer.QuantizeAsync(TestModels.TinyPath, quantised, ModelQuantizer.FindType("q8_0")!, threads: 1, cancellationToken: TestContext.Current.CancellationToken);
        var data = WriteData(folder, Conversation("hi", "hello"));

        var result = await CliRunner.RunAsync("adapter", "train", "--base", quantised, "--data", data, "--out", Path.Combine(folder, "x.gguf"));

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.Error.Trim().Split('\n'));
        Assert.Contains("is quantised (Q8_0", line, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder, "x.gguf")));
    }

    [Fact]
    public async Task Train_BadJsonLine_OneLineNamingTheLine()
    {
        var folder = TestModels.CreateScratchFolder();
        var data = WriteData(folder, Conversation("hi", "hello"), """{"messages": "not a list"}""");

        var result = await CliRunner.RunAsync("adapter", "train", "--base", TestModels.TinyPath, "--data", data, "--out", Path.Combine(folder, "x.gguf"));

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.Error.Trim().Split('\n'));
        Assert.EndsWith("line 2: expected an object with a \"messages\" array.", line, StringComparison.Ordinal);
    }
}
