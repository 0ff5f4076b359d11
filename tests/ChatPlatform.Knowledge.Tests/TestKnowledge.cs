using ChatPlatform.Core.Configuration;
using ChatPlatform.Data;
using ChatPlatform.Knowledge.Search;
using Microsoft.Extensions.AI;
using Xunit;

namespace ChatPlatform.Knowledge.Tests;

/// <summary>A knowledge base over a fresh SQLite store and index in a temporary folder.</summary>
internal sealed class TestKnowledge : IAsyncDisposable
{
    private TestKnowledge(string folder, ChatDbContextFactory store, KnowledgeIndex index, KnowledgeBase knowledge)
    {
        Folder = folder;
        Store = store;
        Index = index;
        Knowledge = knowledge;
    }

    public string Folder { get; }
    public ChatDbContextFactory Store { get; }
    public KnowledgeIndex Index { get; }
    public KnowledgeBase Knowledge { get; }

    public static async Task<TestKnowledge> CreateAsync(IEmbeddingGenerator<string, Embedding<float>>? embedder = null)
    {
        var folder = Directory.CreateTempSubdirectory("chatplatform-knowledge-").FullName;
        var store = new ChatDbContextFactory(folder);
        await ChatDatabase.MigrateAsync(store, TestContext.Current.CancellationToken);
        var index = new KnowledgeIndex(new KnowledgeOptions().IndexFileIn(folder));
        return new TestKnowledge(folder, store, index, new KnowledgeBase(store, index, embedder, TimeSpan.Zero));
    }

    /// <summary>Writes a file into the test's folder and returns its path.</summary>
    public string Write(string name, string text)
    {
        var path = Path.Combine(Folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    public string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(Folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>A second node: its own index file over the same store.</summary>
    public KnowledgeBase OtherNode(string indexName = "other-index.db") =>
        new(Store, new KnowledgeIndex(Path.Combine(Folder, indexName)), null, TimeSpan.Zero);

    public ValueTask DisposeAsync()
    {
        Knowledge.Dispose();
        Index.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }
}
