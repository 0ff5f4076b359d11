using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Cli.Tests;

public sealed class ModelCommandTests
{
    [Fact]
    public async Task Fixture_TinySameSeedTwice_IdenticalFiles()
    {
        var folder = TestModels.CreateScratchFolder();
        var a = Path.Combine(folder, "a.gguf");
        var b = Path.Combine(folder, "b.gguf");

        Assert.Equal(0, (await CliRunner.RunAsync("model", "fixture", "--kind", "tiny", "--seed", "7", "--out", a)).ExitCode);
        Assert.Equal(0, (await CliRunner.RunAsync("model", "fixture", "--kind", "tiny", "--seed", "7", "--out", b)).ExitCode);

        Assert.Equal(await File.ReadAllBytesAsync(a, TestContext.Current.CancellationToken), await File.ReadAllBytesAsync(b, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Fixture_LoraWithoutBase_ExplainsWhatIsMissing()
    {
        var result = await CliRunner.RunAsync("model", "fixture", "--kind", "lora", "--out", Path.Combine(TestModels.CreateScratchFolder(), "x.gguf"));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--base", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fixture_LoraOnNonGgufBase_OneLineErrorNamingTheFile()
    {
        var folder = TestModels.CreateScratchFolder();
        var bogus = Path.Combine(folder, "bogus.gguf");
        await File.WriteAllTextAsync(bogus, "not a model", TestContext.Current.CancellationToken);

        var result = await CliRunner.RunAsync("model", "fixture", "--kind", "lora", "--base", bogus, "--out", Path.Combine(folder, "l.gguf"));

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(bogus, result.Error, StringComparison.Ordinal);
        Assert.Single(result.Error.Trim().Split('\n'));
    }

    [Fact]
    public async Task Inspect_TinyModel_PrintsArchitectureContextVocabularyAndTemplate()
    {
        var result = await CliRunner.RunAsync("model", "inspect", TestModels.TinyPath);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("architecture:    llama", result.Out, StringComparison.Ordinal);
        Assert.Contains("context length:  8192", result.Out, StringComparison.Ordinal);
        Assert.Contains("quantisation:", result.Out, StringComparison.Ordinal);
        Assert.Contains("parameters:", result.Out, StringComparison.Ordinal);
        Assert.Contains("vocabulary:", result.Out, StringComparison.Ordinal);
        Assert.Contains("chat template:   ChatML", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inspect_Adapter_PrintsAdapterMetadata()
    {
        var result = await CliRunner.RunAsync("model", "inspect", TestModels.LoraPath);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("kind:            adapter", result.Out, StringComparison.Ordinal);
        Assert.Contains("adapter type:    lora", result.Out, StringComparison.Ordinal);
        Assert.Contains("lora rank:       4", result.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("text")]
    [InlineData("empty")]
    public async Task Inspect_BadFile_OneLineErrorNamingFileAndNonZeroExit(string kind)
    {
        var path = Path.Combine(TestModels.CreateScratchFolder(), kind + ".gguf");
        var bytes = kind switch
        {
            "truncated" => (await File.ReadAllBytesAsync(TestModels.TinyPath, TestContext.Current.CancellationToken))[..100_000],
            "text" => "hello, I am not a model"u8.ToArray(),
            _ => [],
        };
        await File.WriteAllBytesAsync(path, bytes, TestContext.Current.CancellationToken);

        var result = await CliRunner.RunAsync("model", "inspect", path);

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.Error.Trim().Split('\n'));
        Assert.StartsWith(path + ": ", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inspect_MissingFile_SaysNotFound()
    {
        var result = await CliRunner.RunAsync("model", "inspect", "/nonexistent/x.gguf");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Equal("/nonexistent/x.gguf: file not found.", result.Error.Trim());
    }
}
