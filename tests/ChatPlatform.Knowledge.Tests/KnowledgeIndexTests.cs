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
}
