using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace ChatPlatform.Knowledge.Search;

/// <summary>
/// This node's search index: a SQLite file with an FTS5 table (BM25) over pre-segmented terms, plus what a turn needs
/// to answer (passage text, titles, curated answers, optional vectors), so a lookup never waits on the shared store.
/// The store is the source of truth; a persona's part of the index carries a stamp of the store's state and is rebuilt
/// when the stamps differ, so the same index works beside SQLite and PostgreSQL alike.
/// </summary>
public sealed class KnowledgeIndex : IDisposable
{
    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public KnowledgeIndex(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            DefaultTimeout = 30,
            Pooling = true,
        }.ToString();
        using var connection = Open();
        Execute(connection, "PRAGMA journal_mode=WAL;");
        // An index file of an older layout is dropped; its stamps go with it, so each persona is rebuilt from the store.
        if (UserVersion(connection) != SchemaVersion)
        {
            Execute(connection, $"""
                DROP TABLE IF EXISTS vocab;
                DROP TABLE IF EXISTS fts;
                DROP TABLE IF EXISTS entries;
                DROP TABLE IF EXISTS stamps;
                PRAGMA user_version = {SchemaVersion};
                """);
        }
        // `scope` holds one token per persona and kind, so a search's MATCH is restricted to that part of the index and
        // FTS5 ranks and limits inside the virtual table (weight 0: the scope token never adds to the score).
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS stamps(persona TEXT PRIMARY KEY, stamp TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS entries(
                id INTEGER PRIMARY KEY, persona TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, source_id INTEGER NOT NULL,
                title TEXT NOT NULL, section TEXT, page INTEGER, link TEXT, text TEXT NOT NULL, terms TEXT NOT NULL, vector BLOB,
                scope TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS entries_persona ON entries(persona, kind, source_id);
            CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(scope, terms, content='entries', content_rowid='id', tokenize='unicode61 remove_diacritics 0');
            INSERT INTO fts(fts, rank) VALUES('rank', 'bm25(0.0, 1.0)');
            CREATE VIRTUAL TABLE IF NOT EXISTS vocab USING fts5vocab(fts, 'row');
            """);
    }

    private const int SchemaVersion = 2;

    private static long UserVersion(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA user_version";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>The single FTS token naming a persona's entries of one kind (hex, so any persona id stays one token).</summary>
    private static string Scope(string persona, string kind) =>
        "s" + Convert.ToHexStringLower(System.Text.Encoding.UTF8.GetBytes(kind + "\u0001" + persona));

    public string Path { get; }

    /// <summary>Weight of a question word that no passage contains.</summary>
    public const double UnseenWeight = 1.0;

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>The store state this persona's part of the index was built from, or null when it was never built.</summary>
    public string? GetStamp(string persona)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT stamp FROM stamps WHERE persona = $p";
        command.Parameters.AddWithValue("$p", persona);
        return command.ExecuteScalar() as string;
    }

    /// <summary>Replaces everything of one persona (or, with <paramref name="sourceId"/>, one document or curated set) in one transaction.</summary>
    public async Task ReplaceAsync(string persona, IReadOnlyList<IndexEntry> entries, string stamp, string? kind = null, long? sourceId = null,
        CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            using var connection = Open();
            using var transaction = connection.BeginTransaction();
            DeleteEntries(connection, transaction, persona, kind, sourceId);
            using (var insert = connection.CreateCommand())
            using (var fts = connection.CreateCommand())
            {
                insert.Transaction = transaction;
                insert.CommandText = """
                    INSERT INTO entries(persona, kind, key, source_id, title, section, page, link, text, terms, vector, scope)
                    VALUES ($persona, $kind, $key, $source, $title, $section, $page, $link, $text, $terms, $vector, $scope) RETURNING id
                    """;
                var p = new Dictionary<string, SqliteParameter>();
                foreach (var name in new[] { "$persona", "$kind", "$key", "$source", "$title", "$section", "$page", "$link", "$text", "$terms", "$vector", "$scope" })
                    p[name] = insert.Parameters.Add(new SqliteParameter { ParameterName = name });
                fts.Transaction = transaction;
                fts.CommandText = "INSERT INTO fts(rowid, scope, terms) VALUES ($id, $scope, $terms)";
                var ftsId = fts.Parameters.Add(new SqliteParameter { ParameterName = "$id" });
                var ftsScope = fts.Parameters.Add(new SqliteParameter { ParameterName = "$scope" });
                var ftsTerms = fts.Parameters.Add(new SqliteParameter { ParameterName = "$terms" });
                foreach (var e in entries)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var terms = string.Join(' ', TextAnalyzer.DocumentTerms(e.IndexedText));
                    p["$persona"].Value = persona;
                    p["$kind"].Value = e.Kind;
                    p["$key"].Value = e.Key;
                    p["$source"].Value = e.SourceId;
                    p["$title"].Value = e.Title;
                    p["$section"].Value = (object?)e.Section ?? DBNull.Value;
                    p["$page"].Value = (object?)e.Page ?? DBNull.Value;
                    p["$link"].Value = (object?)e.Link ?? DBNull.Value;
                    p["$text"].Value = e.Text;
                    p["$terms"].Value = terms;
                    p["$scope"].Value = Scope(persona, e.Kind);
                    p["$vector"].Value = e.Vector is null ? DBNull.Value : MemoryMarshal.AsBytes(e.Vector.AsSpan()).ToArray();
                    var id = (long)insert.ExecuteScalar()!;
                    ftsId.Value = id;
                    ftsScope.Value = p["$scope"].Value;
                    ftsTerms.Value = terms;
                    fts.ExecuteNonQuery();
                }
            }
            SetStamp(connection, transaction, persona, stamp);
            transaction.Commit();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Removes one document's passages (or the whole persona when <paramref name="sourceId"/> is null).</summary>
    public async Task RemoveAsync(string persona, string? kind, long? sourceId, string stamp, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            using var connection = Open();
            using var transaction = connection.BeginTransaction();
            DeleteEntries(connection, transaction, persona, kind, sourceId);
            SetStamp(connection, transaction, persona, stamp);
            transaction.Commit();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private static void DeleteEntries(SqliteConnection connection, SqliteTransaction transaction, string persona, string? kind, long? sourceId)
    {
        var where = "persona = $p" + (kind is null ? "" : " AND kind = $k") + (sourceId is null ? "" : " AND source_id = $s");
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        // External-content FTS5 rows are removed with the 'delete' command and the indexed values.
        command.CommandText = $"""
            INSERT INTO fts(fts, rowid, scope, terms) SELECT 'delete', id, scope, terms FROM entries WHERE {where};
            DELETE FROM entries WHERE {where};
            """;
        command.Parameters.AddWithValue("$p", persona);
        if (kind is not null) command.Parameters.AddWithValue("$k", kind);
        if (sourceId is not null) command.Parameters.AddWithValue("$s", sourceId.Value);
        command.ExecuteNonQuery();
    }

    private static void SetStamp(SqliteConnection connection, SqliteTransaction transaction, string persona, string stamp)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO stamps(persona, stamp) VALUES ($p, $s) ON CONFLICT(persona) DO UPDATE SET stamp = excluded.stamp";
        command.Parameters.AddWithValue("$p", persona);
        command.Parameters.AddWithValue("$s", stamp);
        command.ExecuteNonQuery();
    }

    /// <summary>Entries in the whole index (all personas).</summary>
    public long EntryCount() => Vocabulary().Entries;

    /// <summary>BM25 candidates of one kind for a persona, best first, with each candidate's terms.</summary>
    public List<IndexHit> Search(string persona, string kind, IReadOnlyList<string> queryTerms, int limit)
    {
        var hits = new List<IndexHit>();
        if (queryTerms.Count == 0) return hits;
        // The scope token restricts the match to this persona and kind; FTS5 then scores every matching row with BM25
        // (the scope column weighs 0) and only the few best rows are read from `entries`. Calling bm25() directly costs
        // about a quarter less per row than the configured `rank` column.
        var match = "scope : " + Scope(persona, kind) + " AND terms : ("
            + string.Join(" OR ", queryTerms.Select(t => "\"" + t.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"")) + ")";
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT e.id, e.kind, e.key, e.source_id, e.title, e.section, e.page, e.link, e.text, e.terms, best.score
            FROM (SELECT rowid AS id, bm25(fts, 0.0, 1.0) AS score FROM fts WHERE fts MATCH $match ORDER BY score LIMIT $limit) AS best
            JOIN entries e ON e.id = best.id
            ORDER BY best.score
            """;
        command.Parameters.AddWithValue("$match", match);
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        while (reader.Read())
            hits.Add(new IndexHit(reader.GetInt64(0), ReadEntry(reader), reader.GetDouble(10),
                new HashSet<string>(reader.GetString(9).Split(' ', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal)));
        return hits;
    }

    private static IndexEntry ReadEntry(SqliteDataReader reader) => new(
        reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetString(4),
        reader.IsDBNull(5) ? null : reader.GetString(5),
        reader.IsDBNull(6) ? null : reader.GetInt32(6),
        reader.IsDBNull(7) ? null : reader.GetString(7),
        reader.GetString(8), "");

    private IndexVocabulary? _vocabulary;
    private readonly Lock _vocabularyLock = new();

    /// <summary>
    /// The index's words as they are now: read in one pass over FTS5's vocabulary and again only after the index
    /// changed (its stamps differ, also after a write by another process), so a question costs no lookups of its own.
    /// A question takes it once and asks it everything.
    /// </summary>
    public IndexVocabulary Vocabulary()
    {
        using var connection = Open();
        var generation = Generation(connection);
        if (_vocabulary is { } current && current.Generation == generation) return current;
        lock (_vocabularyLock)
        {
            if (_vocabulary is { } again && again.Generation == generation) return again;
            using var transaction = connection.BeginTransaction(deferred: true);
            // Read inside one transaction, so the counts, the terms and the generation describe the same state.
            generation = Generation(connection, transaction);
            long entries;
            using (var count = connection.CreateCommand())
            {
                count.Transaction = transaction;
                count.CommandText = "SELECT count(*) FROM entries";
                entries = (long)count.ExecuteScalar()!;
            }
            var frequency = new Dictionary<string, long>(StringComparer.Ordinal);
            var han = new List<(string Term, long Doc)>();
            using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = "SELECT term, doc FROM vocab";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    var term = reader.GetString(0);
                    var doc = reader.GetInt64(1);
                    frequency[term] = doc;
                    if (term.Length is >= 2 and <= 4 && term[0] >= '\u2E80') han.Add((term, doc));
                }
            }
            var words = new Dictionary<char, List<string>>();
            foreach (var (term, _) in han.OrderByDescending(h => h.Doc))
            {
                foreach (var c in term.Distinct())
                {
                    if (!words.TryGetValue(c, out var list)) words[c] = list = [];
                    list.Add(term);
                }
            }
            transaction.Commit();
            return _vocabulary = new IndexVocabulary(generation, entries, frequency, words);
        }
    }

    /// <summary>The index's state as the stamps of all its personas: it changes with every write.</summary>
    private static string Generation(SqliteConnection connection, SqliteTransaction? transaction = null)
    {
        using var stamps = connection.CreateCommand();
        stamps.Transaction = transaction;
        stamps.CommandText = "SELECT coalesce(group_concat(persona || '=' || stamp, ';'), '') FROM (SELECT persona, stamp FROM stamps ORDER BY persona)";
        return (string)stamps.ExecuteScalar()!;
    }

    /// <summary>All vectors of a persona's passages (for dense search), keyed by row id.</summary>
    public List<(long RowId, float[] Vector)> Vectors(string persona)
    {
        var vectors = new List<(long, float[])>();
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, vector FROM entries WHERE persona = $p AND kind = $k AND vector IS NOT NULL";
        command.Parameters.AddWithValue("$p", persona);
        command.Parameters.AddWithValue("$k", IndexEntry.Passage);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var bytes = (byte[])reader.GetValue(1);
            vectors.Add((reader.GetInt64(0), MemoryMarshal.Cast<byte, float>(bytes).ToArray()));
        }
        return vectors;
    }

    /// <summary>Entries by row id (for candidates found by dense search).</summary>
    public Dictionary<long, (IndexEntry Entry, HashSet<string> Terms)> Get(IReadOnlyCollection<long> rowIds)
    {
        var result = new Dictionary<long, (IndexEntry, HashSet<string>)>();
        if (rowIds.Count == 0) return result;
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT id, kind, key, source_id, title, section, page, link, text, terms FROM entries WHERE id IN ({string.Join(',', rowIds)})";
        using var reader = command.ExecuteReader();
        while (reader.Read())
            result[reader.GetInt64(0)] = (ReadEntry(reader), new HashSet<string>(reader.GetString(9).Split(' ', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal));
        return result;
    }

    public void Dispose() => _writeLock.Dispose();
}

/// <summary>
/// What a question needs to know about the index's words at one state of the index: the number of entries, each
/// term's document frequency, and the Han words of up to four characters by the characters they contain (most
/// frequent first).
/// </summary>
public sealed class IndexVocabulary
{
    private readonly Dictionary<string, long> _frequency;
    private readonly Dictionary<char, List<string>> _hanWords;

    internal IndexVocabulary(string generation, long entries, Dictionary<string, long> frequency, Dictionary<char, List<string>> hanWords)
    {
        Generation = generation;
        Entries = entries;
        _frequency = frequency;
        _hanWords = hanWords;
    }

    internal string Generation { get; }

    /// <summary>Entries in the whole index (all personas).</summary>
    public long Entries { get; }

    /// <summary>Whether any entry of the index holds the term.</summary>
    public bool Contains(string term) => _frequency.ContainsKey(term);

    /// <summary>
    /// Rarity weight of each term across the index: ln(1 + (N − df + 0.5) / (df + 0.5)), as BM25 uses;
    /// a term found nowhere gets <see cref="KnowledgeIndex.UnseenWeight"/>.
    /// </summary>
    public Dictionary<string, double> TermWeights(IEnumerable<string> terms)
    {
        ArgumentNullException.ThrowIfNull(terms);
        var weights = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var t in terms)
        {
            // A word found nowhere (often a verb or particle the stop lists miss) weighs like a common word:
            // it can never be matched, so it should not drag a question's similarity or coverage down much.
            weights[t] = _frequency.TryGetValue(t, out var d) ? Math.Log(1 + (Entries - d + 0.5) / (d + 0.5)) : KnowledgeIndex.UnseenWeight;
        }
        return weights;
    }

    /// <summary>
    /// Words of the index that contain a single Han character of a question (约 → 预约, 等 → 等待): in Chinese a lone
    /// character is usually a shortened word, which segmentation alone cannot match. At most <paramref name="limit"/>
    /// of the most frequent are returned.
    /// </summary>
    public List<string> WordsContaining(string character, int limit = 8)
    {
        ArgumentException.ThrowIfNullOrEmpty(character);
        return _hanWords.TryGetValue(character[0], out var list) ? [.. list.Where(w => w.Length > 1).Take(limit)] : [];
    }
}
