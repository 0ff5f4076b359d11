using ChatPlatform.Core.Chat;
using Microsoft.Extensions.Configuration;
using ChatPlatform.Inference.Local;
using ChatPlatform.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace ChatPlatform.Inference.Tests.Local;

/// <summary>What the console learns of the model: the loaded one's tokenizer and architecture, or that none is loaded.</summary>
public sealed class LoadedLocalModelTests
{
    [Fact]
    public void AddInference_LocalBackend_CountsWithTheLoadedModelsTokenizer()
    {
        using var host = Build(new() { ["ChatPlatform:Model:Path"] = TestModels.TinyPath, ["ChatPlatform:Model:Threads"] = "2" });
        var model = host.Services.GetRequiredService<LocalModel>();
        var loaded = host.Services.GetRequiredService<ILoadedModel>();
        const string text = "How do I choose a graduate programme?";

        Assert.True(loaded.IsLoaded);
        Assert.Equal(model.Architecture, loaded.Architecture);
        Assert.Equal(model.Weights.Tokenize(text, false, false, System.Text.Encoding.UTF8).Length, loaded.CountTokens(text));
    }

    [Fact]
    public void AddInference_RemoteBackend_SaysNoModelIsLoaded()
    {
        using var host = Build(new() { ["ChatPlatform:Model:Backend"] = "remote" });
        var loaded = host.Services.GetRequiredService<ILoadedModel>();

        Assert.False(loaded.IsLoaded);
        Assert.Null(loaded.Architecture);
        Assert.Null(loaded.CountTokens("hello"));
        Assert.Null(host.Services.GetService<LocalModel>());
    }

    private static IHost Build(Dictionary<string, string?> settings)
    {
        settings["ChatPlatform:DataDirectory"] = TestModels.CreateScratchFolder();
        settings["ChatPlatform:Remote:BaseUrl"] = "http://127.0.0.1:9/v1";
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddInference();
        return builder.Build();
    }
}
