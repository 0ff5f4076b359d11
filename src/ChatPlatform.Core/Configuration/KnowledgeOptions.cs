using System.ComponentModel.DataAnnotations;

namespace ChatPlatform.Core.Configuration;

/// <summary>The <c>ChatPlatform:Knowledge</c> section: document search and curated answers.</summary>
public sealed class KnowledgeOptions
{
    public const string SectionName = ChatPlatformOptions.SectionName + ":Knowledge";

    /// <summary>
    /// Optional GGUF embedding model. When set, passages are also found by meaning (dense vectors) and the two
    /// rankings are fused; when empty, search is lexical (BM25) only.
    /// </summary>
    public string? EmbeddingModelPath { get; set; }

    /// <summary>The per-node search index file; empty means <c>knowledge-index.db</c> in the data directory.</summary>
    public string? IndexPath { get; set; }

    /// <summary>How often (seconds) a node checks the store for documents another node added; 0 checks every turn.</summary>
    [Range(0, 3600)]
    public int RefreshSeconds { get; set; } = 5;

    /// <summary>Ingest the packs' knowledge/ folders at start-up (unchanged files are skipped by their hash).</summary>
    public bool IngestPacksAtStartup { get; set; } = true;

    /// <summary>This node's knowledge search index (rebuilt from the store when missing or stale).</summary>
    public string IndexFileIn(string dataDirectory) => string.IsNullOrWhiteSpace(IndexPath)
        ? Path.Combine(Path.GetFullPath(dataDirectory), "knowledge-index.db")
        : Path.GetFullPath(IndexPath);
}
