using ChatPlatform.Core.Configuration;
using ChatPlatform.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Xunit;

namespace ChatPlatform.Inference.Tests;

/// <summary><c>AddInference</c> binds and checks the Model, Remote and Models sections.</summary>
public sealed class InferenceSectionsTests
{
    [Fact]
    public void AddInference_Settings_BoundToTheSectionsOptions()
    {
        using var host = Build(new()
        {
            ["ChatPlatform:Model:ContextSize"] = "3072",
            ["ChatPlatform:Remote:TimeoutSeconds"] = "7",
            ["ChatPlatform:Models:HubUrl"] = "https://hub.example.org",
        });

        Assert.Equal(3072, host.Services.GetRequiredService<IOptions<ModelOptions>>().Value.ContextSize);
        Assert.Same(host.Services.GetRequiredService<IOptions<ModelOptions>>().Value, host.Services.GetRequiredService<ModelOptions>());
        Assert.Equal(7, host.Services.GetRequiredService<RemoteOptions>().TimeoutSeconds);
        Assert.Equal("https://hub.example.org", host.Services.GetRequiredService<ModelsOptions>().HubUrl);
    }

    [Theory]
    [InlineData("ChatPlatform:Model:ContextSize", "12")]
    [InlineData("ChatPlatform:Model:Backend", "cloud")]
    [InlineData("ChatPlatform:Model:Path", "/nonexistent/model.gguf")]
    [InlineData("ChatPlatform:Models:HubUrl", "ftp://hub.example.org")]
    public async Task AddInference_BadValue_StartFailsNamingTheKey(string key, string value)
    {
        using var host = Build(new() { [key] = value });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddInference_RemoteBackendWithoutModel_StartFailsNamingRemoteModel()
    {
        using var host = Build(new() { ["ChatPlatform:Model:Backend"] = "remote", ["ChatPlatform:Remote:BaseUrl"] = "http://127.0.0.1:9/v1" });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains("ChatPlatform:Remote:Model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddInference_LocalBackend_RemoteSectionNotChecked()
    {
        using var host = Build(new() { ["ChatPlatform:Remote:MaxRetries"] = "99", ["ChatPlatform:Remote:BaseUrl"] = "not a url" });

        SectionOptions.ValidateAll(host.Services);
    }

    [Fact]
    public async Task AddInference_BadApiKeySetting_ValueNeverInTheMessage()
    {
        const string apiKey = "sk-never-shown-0123456789";
        using var host = Build(new()
        {
            ["ChatPlatform:Model:Backend"] = "remote",
            ["ChatPlatform:Remote:BaseUrl"] = "127.0.0.1:8080",
            ["ChatPlatform:Remote:ApiKey"] = apiKey,
        });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains("ChatPlatform:Remote:BaseUrl", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(apiKey, error.Message, StringComparison.Ordinal);
    }

    private static IHost Build(Dictionary<string, string?> settings)
    {
        settings["ChatPlatform:DataDirectory"] = TestModels.CreateScratchFolder();
        return SectionsHost.Build(settings, builder => builder.AddInference());
    }
}
