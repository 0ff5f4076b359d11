using ChatPlatform.Core.Personas;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Core.Tests.Personas;

public sealed class PackKnowledgeSettingsTests : IDisposable
{
    private readonly TempPack _pack = TempPack.CopyOf("gradchat");

    public void Dispose() => _pack.Dispose();

    [Fact]
    public void Load_ReferencePack_KnowledgeSettingsAndFolderRead()
    {
        var pack = PackLoader.Load(_pack.Directory).Pack!;

        Assert.Equal(4, pack.Knowledge.TopK);
        Assert.False(pack.Knowledge.RequireGrounding);
        Assert.StartsWith("I couldn't find", pack.NotFoundFor("en"), StringComparison.Ordinal);
        Assert.NotNull(pack.KnowledgeDirectory);
        // evals/knowledge.jsonl is the retrieval set, not a conversation eval.
        Assert.DoesNotContain(pack.Evals, e => e.Id.StartsWith("gradchat-en-", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_RequireGroundingWithoutNotFoundText_ProblemNamesTheKey()
    {
        var manifest = _pack.Read("persona.yaml");
        var start = manifest.IndexOf("knowledge:", StringComparison.Ordinal);
        _pack.Write("persona.yaml", manifest[..start] + "knowledge:\n  requireGrounding: true\n  maxPassages: 50\n");

        var result = PackLoader.Load(_pack.Directory);

        Assert.Null(result.Pack);
        Assert.Contains(result.Problems, p => p.Message.Contains("knowledge.notFound is required", StringComparison.Ordinal));
        Assert.Contains(result.Problems, p => p.Message.Contains("knowledge.maxPassages", StringComparison.Ordinal));
    }
}
