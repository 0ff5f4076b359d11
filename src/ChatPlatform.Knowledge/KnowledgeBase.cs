using System.Collections.Concurrent;
using ChatPlatform.Core.Knowledge;
using ChatPlatform.Data;
using ChatPlatform.Knowledge.Search;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChatPlatform.Knowledge;

/// <summary>
/// A persona's knowledge: documents and curated answers kept in the shared store, searched through this node's
/// <see cref="KnowledgeIndex"/>. Imports, removals and curated edits change the store in one transaction and then
/// bring the index up to date; other nodes notice the store's new stamp and rebuild their part of the index.
/// </summary>
public sealed partial class KnowledgeBase : IKnowledgeRetriever, IDisposable
{
    private readonly IDbContextFactory<ChatDbContext> _store;
    private readonly KnowledgeIndex _index;
    private readonly IEmbeddingGenerator<string, Embedding<float>>? _embedder;
    private readonly TimeSpan _refresh;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _checkedAt = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string Stamp, List<(long RowId, float[] Vector)> Vectors)> _vectors = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _rebuild = new(1, 1);

    public KnowledgeBase(
        IDbContextFactory<ChatDbContext> store,
        KnowledgeIndex index,
        IEmbeddingGenerator<string, Embedding<float>>? embedder = null,
        TimeSpan? refreshInterval = null,
        TimeProvider? time = null,
        ILogger<KnowledgeBase>? logger = null)
    {
        _store = store;
        _index = index;
        _embedder = embedder;
        _refresh = refreshInterval ?? TimeSpan.FromSeconds(5);
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        EmbeddingModel = embedder is null
            ? null
            : embedder.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelId ?? embedder.GetType().Name;
    }

    /// <summary>The embedding model in use, or null for lexical search only.</summary>
    public string? EmbeddingModel { get; }

    public KnowledgeIndex Index => _index;

    public void Dispose() => _rebuild.Dispose();

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}
