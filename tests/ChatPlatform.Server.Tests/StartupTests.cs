using Xunit;
using System.Net;
using ChatPlatform.Inference.Local;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Server.Tests;

public sealed class StartupTests
{
    [Theory]
    [InlineData("ChatPlatform:Model:ContextSize", "12")]
    [InlineData("ChatPlatform:MaxMessageChars", "0")]
    [InlineData("ChatPlatform:Model:Threads", "-3")]
    [InlineData("ChatPlatform:Webhooks:AllowedHosts:0", "https://oncall.example.org/hook")]
    [InlineData("ChatPlatform:Webhooks:AllowedHosts:0", "oncall.example.org:8443")]
    [InlineData("ChatPlatform:Models:HubUrl", "ftp://hub.example.org")]
    [InlineData("ChatPlatform:Database:Provider", "Oracle")]
    [InlineData("ChatPlatform:Retention:ConversationDays", "-1")]
    [InlineData("ChatPlatform:Retention:PersonaConversationDays:mindchat", "40000")]
    [InlineData("ChatPlatform:Knowledge:RefreshSeconds", "-1")]
    [InlineData("ChatPlatform:Knowledge:EmbeddingModelPath", "/nonexistent/embed.gguf")]
    [InlineData("ChatPlatform:SafetyJudge:TimeoutMilliseconds", "10")]
    public void Start_BadSetting_FailsNamingTheKey(string key, string value)
    {
        using var factory = new ServerFactory();
        factory.Settings[key] = value;

        var error = Assert.Throws<OptionsValidationException>(() => factory.CreateClient());

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_BadSettingsInSeveralSections_OneErrorNamingEveryKey()
    {
        using var factory = new ServerFactory();
        factory.Settings["ChatPlatform:Model:ContextSize"] = "12";
        factory.Settings["ChatPlatform:Retention:ConversationDays"] = "-1";
        factory.Settings["ChatPlatform:Webhooks:AllowedHosts:0"] = "https://oncall.example.org/hook";

        var error = Assert.Throws<OptionsValidationException>(() => factory.CreateClient());

        Assert.Contains("ChatPlatform:Model:ContextSize", error.Message, StringComparison.Ordinal);
        Assert.Contains("ChatPlatform:Retention:ConversationDays", error.Message, StringComparison.Ordinal);
        Assert.Contains("ChatPlatform:Webhooks:AllowedHosts:0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_BadSetting_NothingWrittenBeforeTheError()
    {
        using var factory = new ServerFactory();
        factory.Settings["ChatPlatform:Knowledge:RefreshSeconds"] = "-1";

        Assert.Throws<OptionsValidationException>(() => factory.CreateClient());

        Assert.False(File.Exists(Path.Combine(factory.DataDirectory, "chatplatform.db")));
    }

    [Fact]
    public void Start_PostgresWithoutTokenSigningKey_FailsNamingTheKey()
    {
        using var factory = new ServerFactory();
        factory.Settings["ChatPlatform:Database:Provider"] = "Postgres";
        factory.Settings["ChatPlatform:Database:ConnectionString"] = "Host=127.0.0.1;Database=chatplatform;Username=chat";

        var error = Assert.Throws<OptionsValidationException>(() => factory.CreateClient());

        Assert.Contains("ChatPlatform:DirectLine:TokenSigningKey is required", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_ModelPathMissing_FailsNamingTheKeyAndPath()
    {
        using var factory = new ServerFactory();
        factory.Settings["ChatPlatform:Model:Path"] = "/nonexistent/model.gguf";

        var error = Assert.Throws<OptionsValidationException>(() => factory.CreateClient());

        Assert.Contains("ChatPlatform:Model:Path", error.Message, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/model.gguf", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_CorruptModelFile_FailsNamingTheFile()
    {
        using var factory = new ServerFactory();
        var corrupt = Path.Combine(factory.DataDirectory, "corrupt.gguf");
        File.WriteAllText(corrupt, "this is not a model");
        factory.Settings["ChatPlatform:Model:Path"] = corrupt;

        var error = Assert.Throws<ModelLoadException>(() => factory.CreateClient());

        Assert.Contains(corrupt, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_NoModelConfigured_GeneratesDemoModelUnderDataDirectory()
    {
        using var factory = new ServerFactory();
        factory.Settings["ChatPlatform:Model:Path"] = "";

        var response = await factory.CreateClient().GetAsync("/healthz", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(File.Exists(Path.Combine(factory.DataDirectory, "models", ModelLocator.DemoFileName)));
        Assert.True(File.Exists(Path.Combine(factory.DataDirectory, "chatplatform.db")));
    }
}
