using ChatPlatform.Core.Configuration;
using ChatPlatform.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Xunit;

namespace ChatPlatform.Knowledge.Tests;

/// <summary><c>AddKnowledge</c> binds and checks the Knowledge section.</summary>
public sealed class KnowledgeSectionsTests
{
    [Fact]
    public void AddKnowledge_Settings_BoundToTheSectionsOptions()
    {
        var data = Directory.CreateTempSubdirectory("chatplatform-sections-").FullName;
        using var host = Build(new() { ["ChatPlatform:DataDirectory"] = data, ["ChatPlatform:Knowledge:RefreshSeconds"] = "9" });

        var knowledge = host.Services.GetRequiredService<KnowledgeOptions>();
        Assert.Same(host.Services.GetRequiredService<IOptions<KnowledgeOptions>>().Value, knowledge);
        Assert.Equal(9, knowledge.RefreshSeconds);
        Assert.Equal(Path.Combine(data, "knowledge-index.db"), knowledge.IndexFileIn(host.Services.GetRequiredService<ChatPlatformOptions>().DataDirectory));
    }

    [Theory]
    [InlineData("ChatPlatform:Knowledge:RefreshSeconds", "-1")]
    [InlineData("ChatPlatform:Knowledge:EmbeddingModelPath", "/nonexistent/embed.gguf")]
    public async Task AddKnowledge_BadValue_StartFailsNamingTheKey(string key, string value)
    {
        using var host = Build(new() { [key] = value });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", error.Message, StringComparison.Ordinal);
    }

    private static IHost Build(Dictionary<string, string?> settings) =>
        SectionsHost.Build(settings, builder => builder.Services.AddKnowledge());
}
