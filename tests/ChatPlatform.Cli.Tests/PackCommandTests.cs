using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Cli.Tests;

public sealed class PackCommandTests
{
    [Fact]
    public async Task Validate_ReferencePacks_ExitsZeroAndNamesEachPack()
    {
        var result = await CliRunner.RunAsync("packs", "validate", RepoPaths.Personas);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("mindchat", result.Out, StringComparison.Ordinal);
        Assert.Contains("sunsimiao", result.Out, StringComparison.Ordinal);
        Assert.Contains("gradchat", result.Out, StringComparison.Ordinal);
        Assert.Equal("", result.Error);
    }

    [Fact]
    public async Task Validate_PackWithBrokenField_ExitsNonZeroWithPathLineMessage()
    {
        using var pack = TempPack.CopyOf("gradchat");
        var line = pack.EditLine("persona.yaml", "  temperature:", "  temperature: 3.5");

        var result = await CliRunner.RunAsync("packs", "validate", pack.PersonasDirectory);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"personas/gradchat/persona.yaml:{line}: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("temperature", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_MissingFolder_ExitsNonZeroNamingIt()
    {
        var result = await CliRunner.RunAsync("packs", "validate", "/nonexistent/personas");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("/nonexistent/personas", result.Error, StringComparison.Ordinal);
    }
}
