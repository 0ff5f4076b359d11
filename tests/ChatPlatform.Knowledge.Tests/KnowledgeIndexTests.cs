using ChatPlatform.Knowledge.Search;
using Microsoft.Data.Sqlite;
using Xunit;

namespace ChatPlatform.Knowledge.Tests;

public sealed class KnowledgeIndexTests
{
    private static IndexEntry Passage(string key, string text) => new(IndexEntry.Passage, key, 1, "Guide", key, null, null, text, text);

    [Fact]
    public async Task Search_PersonaIdsSharingWords_OnlyOwnPersonaAndKind()
    {
        var folder = Directory.CreateTempSubdirectory("chatplatform-index-").FullName;
        try
        {
            using var index = new KnowledgeIndex(Path.Combine(folder, "index.db"));
            var ct = TestContext.Current.CancellationToken;
            await index.ReplaceAsync("grad", [Passage("a", "scholarship deadline")], "1", cancellationToken: ct);
            await index.ReplaceAsync("grad-chat", [Passage("b", "scholarship interview")], "1", cancellationToken: ct);
            await index.ReplaceAsync("chat", [Passage("c", "scholarship fees")], "1", cancellationToken: ct);

            var hits = index.Search("grad", IndexEntry.Passage, [TextAnalyzer.QueryTerms("scholarship")[0]], 10);
            var curated = index.Search("grad", IndexEntry.Curated, [TextAnalyzer.QueryTerms("scholarship")[0]], 10);

            Assert.Equal(["a"], hits.Select(h => h.Entry.Key));
            Assert.Empty(curated);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Constructor_IndexFileOfOlderLayout_DroppedSoPersonasAreRebuilt()
    {
        var folder = Directory.CreateTempSubdirectory("chatplatform-index-").FullName;
        var path = Path.Combine(folder, "index.db");
        try
        {
            using (var connection = new SqliteConnection($"Data Source={path}"))
            {
                connection.Open();
                using var command = connection.CreateCommand();
                command.CommandText = """
                    CREATE TABLE stamps(persona TEXT PRIMARY KEY, stamp TEXT NOT NULL);
                    INSERT INTO stamps VALUES ('grad', 'old');
                    CREATE TABLE entries(id INTEGER PRIMARY KEY, persona TEXT NOT NULL, terms TEXT NOT NULL);
                    """;
                command.ExecuteNonQuery();
            }
            SqliteConnection.ClearAllPools();

            using var index = new KnowledgeIndex(path);

            Assert.Null(index.GetStamp("grad"));
            Assert.Equal(0, index.EntryCount());
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task TermWeights_AfterAWriteByAnotherIndexOnTheSameFile_SeeTheNewWords()
    {
        var folder = Directory.CreateTempSubdirectory("chatplatform-index-").FullName;
        var path = Path.Combine(folder, "index.db");
        try
        {
            var ct = TestContext.Current.CancellationToken;
            using var reader = new KnowledgeIndex(path);
            using var writer = new KnowledgeIndex(path);
            await writer.ReplaceAsync("grad", [Passage("a", "scholarship deadline"), Passage("b", "visa interview")], "1", cancellationToken: ct);
            var visa = TextAnalyzer.QueryTerms("visa")[0];
            var before = reader.Vocabulary().TermWeights([visa])[visa];
            Assert.Equal(2, reader.EntryCount());
            Assert.Empty(reader.Vocabulary().WordsContaining("押"));

            // The words are cached per state of the index; a write through another instance (another process) changes
            // the stamps and so the cache.
            await writer.ReplaceAsync("grad", [Passage("a", "scholarship deadline"), Passage("b", "visa interview"), Passage("c", "visa fees"),
                Passage("d", "visa office"), Passage("e", "学费押金")], "2", cancellationToken: ct);

            Assert.Equal(5, reader.EntryCount());
            Assert.True(reader.Vocabulary().TermWeights([visa])[visa] < before, "a word in more entries weighs less");
            Assert.Contains("押金", reader.Vocabulary().WordsContaining("押"));
            Assert.True(reader.Vocabulary().Contains("押金"));
            Assert.False(reader.Vocabulary().Contains("unseen"));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }
}
