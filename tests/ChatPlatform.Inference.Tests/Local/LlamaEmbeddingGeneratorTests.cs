using Microsoft.Extensions.Configuration;
using ChatPlatform.Inference.Local;
using ChatPlatform.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace ChatPlatform.Inference.Tests.Local;

/// <summary>Embeddings on the generated tiny model, alone and on the chat model's weights.</summary>
public sealed class LlamaEmbeddingGeneratorTests
{
    [Fact]
    public async Task GenerateAsync_TinyModel_UnitVectorsOfModelWidth()
    {
        using var embedder = new LlamaEmbeddingGenerator(TestModels.TinyPath, threads: 2);

        var vectors = await embedder.GenerateAsync(["hello world", "你好"], cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(2, vectors.Count);
        Assert.All(vectors, v => Assert.Equal(embedder.Dimensions, v.Vector.Length));
        Assert.All(vectors, v => Assert.Equal(1.0, Math.Sqrt(v.Vector.ToArray().Sum(x => (double)x * x)), 3));
        Assert.NotEqual(vectors[0].Vector.ToArray(), vectors[1].Vector.ToArray());
        Assert.Equal(embedder.ModelId, embedder.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelId);
    }

    [Fact]
    public async Task AddInference_EmbeddingModelIsTheChatModel_OneCopyOfTheWeights()
    {
        using var host = Build(TestModels.TinyPath, TestModels.TinyPath);
        var model = host.Services.GetRequiredService<LocalModel>();
        var embedder = Assert.IsType<LlamaEmbeddingGenerator>(host.Services.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>());

        Assert.True(embedder.SharesWeights);
        Assert.Same(model.Weights, embedder.Weights);
        var vectors = await embedder.GenerateAsync(["hello world"], cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(embedder.Dimensions, vectors[0].Vector.Length);

        // The host releases the generator's context before the model's weights.
        host.Dispose();
        Assert.True(model.IsDisposed);
    }

    [Fact]
    public void AddInference_EmbeddingModelIsAnotherFile_LoadsItsOwnWeights()
    {
        var copy = Path.Combine(TestModels.CreateScratchFolder(), "embed.gguf");
        File.Copy(TestModels.TinyPath, copy);
        using var host = Build(TestModels.TinyPath, copy);
        var model = host.Services.GetRequiredService<LocalModel>();
        var embedder = Assert.IsType<LlamaEmbeddingGenerator>(host.Services.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>());

        Assert.False(embedder.SharesWeights);
        Assert.NotSame(model.Weights, embedder.Weights);
    }

    [Fact]
    public void AddInference_NoEmbeddingModel_NoGenerator()
    {
        using var host = Build(TestModels.TinyPath, embeddingModel: null);

        Assert.Null(host.Services.GetService<IEmbeddingGenerator<string, Embedding<float>>>());
    }

    private static IHost Build(string chatModel, string? embeddingModel)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ChatPlatform:DataDirectory"] = TestModels.CreateScratchFolder(),
            ["ChatPlatform:Model:Path"] = chatModel,
            ["ChatPlatform:Model:Threads"] = "2",
            ["ChatPlatform:Model:ContextSize"] = "2048",
            ["ChatPlatform:Knowledge:EmbeddingModelPath"] = embeddingModel,
        });
        builder.AddInference();
        return builder.Build();
    }
}
