using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Cli.Tests;

/// <summary>The terminal chat on the generated tiny model, with and without a LoRA adapter.</summary>
public sealed class ChatCommandTests
{
    private static Task<CliRunner.Result> Chat(params string[] extra) => CliRunner.RunAsync(
        ["chat", "--model", TestModels.TinyPath, "--personas", RepoPaths.Personas, "--safety-dir", RepoPaths.Safety, "--persona", "gradchat", "--locale", "en", "--message", "hi", "--seed", "1", "--threads", "2", .. extra]);

    [Fact]
    public async Task Chat_OneMessage_PrintsAReplyAndTheSameOneAgain()
    {
        var first = await Chat();
        var second = await Chat();

        Assert.Equal(0, first.ExitCode);
        Assert.False(string.IsNullOrWhiteSpace(first.Out), first.Error);
        Assert.Equal(first.Out, second.Out);
    }

    [Fact]
    public async Task Chat_AdapterScaleOne_ChangesReply_ScaleZero_KeepsIt()
    {
        var plain = await Chat();
        var one = await Chat("--adapter", TestModels.LoraPath, "--adapter-scale", "1.0");
        var zero = await Chat("--adapter", TestModels.LoraPath, "--adapter-scale", "0.0");

        Assert.Equal(0, one.ExitCode);
        Assert.NotEqual(plain.Out, one.Out);
        Assert.Equal(plain.Out, zero.Out);
    }

    [Fact]
    public async Task Chat_Interactive_GreetsThenAnswersEachLineUntilEmptyLine()
    {
        var result = await CliRunner.RunWithInputAsync("hello\nwhat next?\n\n",
            "chat", "--model", TestModels.TinyPath, "--personas", RepoPaths.Personas, "--safety-dir", RepoPaths.Safety, "--persona", "gradchat", "--locale", "en", "--seed", "1", "--threads", "2");

        Assert.Equal(0, result.ExitCode);
        var lines = result.Out.Split('\n');
        Assert.StartsWith("GradChat", lines[0], StringComparison.Ordinal);
        Assert.Equal(3, result.Out.Split("> ").Length - 1);
    }

    [Fact]
    public async Task Chat_CrisisMessage_AnsweredWithTheHumanWrittenReferral()
    {
        var result = await CliRunner.RunAsync("chat", "--model", TestModels.TinyPath, "--personas", RepoPaths.Personas, "--safety-dir", RepoPaths.Safety,
            "--persona", "gradchat", "--locale", "en", "--message", "I want to kill myself tonight", "--threads", "2");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("988", result.Out, StringComparison.Ordinal);
        Assert.Contains("116 123", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_MissingSafetyFolder_OneLineError()
    {
        var result = await CliRunner.RunAsync("chat", "--model", TestModels.TinyPath, "--personas", RepoPaths.Personas, "--safety-dir", "/nonexistent/safety",
            "--persona", "gradchat", "--message", "hi");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("/nonexistent/safety", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_UnknownPersona_ListsAvailable()
    {
        var result = await CliRunner.RunAsync("chat", "--model", TestModels.TinyPath, "--personas", RepoPaths.Personas, "--safety-dir", RepoPaths.Safety, "--persona", "nobody", "--message", "hi");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Unknown persona 'nobody'", result.Error, StringComparison.Ordinal);
        Assert.Contains("gradchat", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_CorruptModel_OneLineErrorNamingTheFile()
    {
        var path = Path.Combine(TestModels.CreateScratchFolder(), "broken.gguf");
        await File.WriteAllBytesAsync(path, (await File.ReadAllBytesAsync(TestModels.TinyPath, TestContext.Current.CancellationToken))[..5000], TestContext.Current.CancellationToken);

        var result = await CliRunner.RunAsync("chat", "--model", path, "--personas", RepoPaths.Personas, "--safety-dir", RepoPaths.Safety, "--persona", "gradchat", "--message", "hi");

        Assert.NotEqual(0, result.ExitCode);
        Assert.StartsWith(path + ": ", result.Error.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_AdapterScaleOutOfRange_Refused()
    {
        var result = await Chat("--adapter", TestModels.LoraPath, "--adapter-scale", "3");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--adapter-scale", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_EmptyMessage_ClearError()
    {
        var result = await CliRunner.RunAsync("chat", "--model", TestModels.TinyPath, "--personas", RepoPaths.Personas, "--safety-dir", RepoPaths.Safety, "--persona", "gradchat", "--message", " ");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("empty_message", result.Error, StringComparison.Ordinal);
    }
}
