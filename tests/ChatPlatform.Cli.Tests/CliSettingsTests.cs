using Xunit;

namespace ChatPlatform.Cli.Tests;

/// <summary>The command checks the settings with the rules the server checks at start-up.</summary>
[Collection(nameof(ProcessEnvironment))]
public sealed class CliSettingsTests
{
    [Theory]
    [InlineData("ChatPlatform__MaxMessageChars", "0", "ChatPlatform:MaxMessageChars")]
    [InlineData("ChatPlatform__Models__HubUrl", "ftp://hub.example.org", "ChatPlatform:Models:HubUrl")]
    [InlineData("ChatPlatform__Model__ContextSize", "12", "ChatPlatform:Model:ContextSize")]
    [InlineData("ChatPlatform__Database__Provider", "Oracle", "ChatPlatform:Database:Provider")]
    [InlineData("ChatPlatform__Retention__ConversationDays", "-1", "ChatPlatform:Retention:ConversationDays")]
    [InlineData("ChatPlatform__Knowledge__RefreshSeconds", "-1", "ChatPlatform:Knowledge:RefreshSeconds")]
    [InlineData("ChatPlatform__SafetyJudge__Backend", "cloud", "ChatPlatform:SafetyJudge:Backend")]
    [InlineData("ChatPlatform__Webhooks__AllowedHosts__0", "oncall.example.org:8443", "ChatPlatform:Webhooks:AllowedHosts:0")]
    public async Task Command_BadSetting_OneLineErrorNamingTheKey(string variable, string value, string key)
    {
        Environment.SetEnvironmentVariable(variable, value);
        try
        {
            var result = await CliRunner.RunAsync("model", "pull", "org/repo", "model.gguf", "--out", Directory.CreateTempSubdirectory("chatplatform-cli-").FullName);

            Assert.Equal(1, result.ExitCode);
            var line = Assert.Single(result.Error.Trim().Split('\n'));
            Assert.StartsWith(key + " ", line, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }
}
