using ChatPlatform.Core.Personas;
using ChatPlatform.Inference.Local;
using ChatPlatform.Knowledge.Search;
using ChatPlatform.Testing;
using Microsoft.Extensions.AI;
using Xunit;

namespace ChatPlatform.Knowledge.Tests;

/// <summary>
/// Dense retrieval plumbing. Vectors from the generated random-weight model carry no meaning, so these tests check
/// that vectors are made, stored and fused, not that they find the right passage; a hand-made generator checks fusion.
/// </summary>
public sealed class DenseRetrievalTests
{
    [Fact]
    public async Task RankAsync_TinyEmbeddingModel_VectorsStoredAndLexicalHitStillFound()
    {
        using var embedder = new LlamaEmbeddingGenerator(TestModels.TinyPath, threads: 2);
        await using var k = await TestKnowledge.CreateAsync(embedder);
        var ct = TestContext.Current.CancellationToken;
        await k.Knowledge.AddFileAsync("gradchat", k.Write("g.md", "# G\n\n## Deadlines\nApply by 15 January.\n\n## Housing\nRooms for first-year students.\n"), cancellationToken: ct);

        var ranking = await k.Knowledge.RankAsync("gradchat", "application deadline", new KnowledgeSettings(), 5, ct);

        Assert.Equal(2, k.Index.Vectors("gradchat").Count);
        Assert.Equal("g.md#Deadlines", ranking.Passages[0].Id);
        Assert.Equal(2, ranking.Passages.Count); // the dense side brings in the passage with no shared word
    }

    [Fact]
    public async Task RankAsync_PassageFoundOnlyByMeaning_FusedInAndRelevant()
    {
        await using var k = await TestKnowledge.CreateAsync(new KeywordEmbedder());
        var ct = TestContext.Current.CancellationToken;
        await k.Knowledge.AddFileAsync("mindchat", k.Write("s.md", "# S\n\n## Feeling low\nTalk to a counsellor when sadness lasts.\n\n## Hours\nOpen nine to five.\n"), cancellationToken: ct);

        // "unhappy" shares no word with the passage; the embedder maps it next to "sadness".
        var ranking = await k.Knowledge.RankAsync("mindchat", "I am unhappy", new KnowledgeSettings(), 5, ct);

        Assert.Equal("s.md#Feeling low", ranking.Passages[0].Id);
        Assert.True(ranking.Passages[0].Relevant);
        Assert.Equal(0, ranking.Passages[0].Coverage);
    }

    /// <summary>Two dimensions: "sad-ness" and everything else; stands in for a model that knows synonyms.</summary>
    private sealed class KeywordEmbedder : IEmbeddingGenerator<string, Embedding<float>>
    {
        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            var result = new GeneratedEmbeddings<Embedding<float>>();
            foreach (var v in values)
            {
                var sad = v.Contains("sad", StringComparison.OrdinalIgnoreCase) || v.Contains("unhappy", StringComparison.OrdinalIgnoreCase);
                result.Add(new Embedding<float>(sad ? [1f, 0f] : (float[])[0f, 1f]));
            }
            return Task.FromResult(result);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
