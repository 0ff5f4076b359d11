namespace ChatPlatform.Knowledge.Search;

/// <summary>What the index holds for one passage or curated answer.</summary>
public sealed record IndexEntry(
    string Kind,
    string Key,
    long SourceId,
    string Title,
    string? Section,
    int? Page,
    string? Link,
    string Text,
    string IndexedText)
{
    public const string Passage = "passage";
    public const string Curated = "curated";

    /// <summary>Dense vector when an embedding model is configured.</summary>
    public float[]? Vector { get; init; }
}

/// <summary>A candidate found by the index, with its BM25 rank score (lower is better, as SQLite reports it).</summary>
public sealed record IndexHit(long RowId, IndexEntry Entry, double Bm25, IReadOnlyCollection<string> Terms);
