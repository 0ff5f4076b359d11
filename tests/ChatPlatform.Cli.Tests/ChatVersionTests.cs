using ChatPlatform.Testing;
using Microsoft.Data.Sqlite;
using Xunit;

namespace ChatPlatform.Cli.Tests;

/// <summary>
/// <c>chatplatform chat</c> serves what a server on the same store serves: a persona version activated in the
/// console replaces the packs folder's copy, and a folder edit the store has not recorded yet is used as it is.
/// </summary>
public sealed class ChatVersionTests : IDisposable
{
    private const string FolderGreeting = "Hi, I'm GradChat, an AI that helps with study plans, grad school, studying abroad and careers. Admission rules change every year, so always double-check the official source. What are you working towards?";
    private const string ActivatedGreeting = "Hello from the version activated in the console.";

    private readonly TempPack _pack = TempPack.CopyOf("gradchat");
    private readonly string _data = Directory.CreateTempSubdirectory("chatplatform-cli-versions-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _pack.Dispose();
        Directory.Delete(_data, recursive: true);
    }

    /// <summary>Activates a version of gradchat with another English greeting.</summary>
    private Task ActivateInTheConsoleAsync() => ConsoleActivation.ActivateAsync(_pack.PersonasDirectory, _data, "gradchat", files =>
    {
        Assert.Contains(FolderGreeting, files["persona.yaml"], StringComparison.Ordinal);
        files["persona.yaml"] = files["persona.yaml"].Replace(FolderGreeting, ActivatedGreeting, StringComparison.Ordinal);
    });

    /// <summary>The greeting line an interactive chat opens with (an empty line ends it at once).</summary>
    private async Task<string> GreetingAsync()
    {
        var result = await CliRunner.RunWithInputAsync("\n", "chat", "--model", TestModels.TinyPath, "--personas", _pack.PersonasDirectory,
            "--data-dir", _data, "--safety-dir", RepoPaths.Safety, "--persona", "gradchat", "--locale", "en", "--threads", "2");
        Assert.True(result.ExitCode == 0, result.Error);
        return result.Out.Split('\n')[0];
    }

    [Fact]
    public async Task Chat_VersionActivatedInTheConsole_IsServedInsteadOfTheFolder()
    {
        await ActivateInTheConsoleAsync();

        Assert.Equal("GradChat 升学助手: " + ActivatedGreeting, await GreetingAsync());
    }

    [Fact]
    public async Task Chat_FolderEditedAfterTheActivation_TheUnrecordedEditIsServed()
    {
        await ActivateInTheConsoleAsync();
        const string edited = "Hello from a folder edit no server has recorded yet.";
        _pack.Write("persona.yaml", _pack.Read("persona.yaml").Replace(FolderGreeting, edited, StringComparison.Ordinal));

        Assert.Equal("GradChat 升学助手: " + edited, await GreetingAsync());
    }

    [Fact]
    public async Task Chat_NoStoreYet_ServesTheFolderAndMakesNoDatabase()
    {
        Assert.Equal("GradChat 升学助手: " + FolderGreeting, await GreetingAsync());
        Assert.Empty(Directory.EnumerateFileSystemEntries(_data));
    }
}
