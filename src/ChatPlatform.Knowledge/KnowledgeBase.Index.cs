using System.Diagnostics;
using ChatPlatform.Data;
using ChatPlatform.Data.Knowledge;
using ChatPlatform.Knowledge.Search;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Knowledge;

// The index: the store's stamp per persona, and this node's index rebuilt from the store when the stamps differ.
public sealed partial class KnowledgeBase
{
    /// <summary>The store's state for a persona: documents and curated answers by count and ids, and the embedding model.</summary>
    public async Task<string> StoreStampAsync(string personaId, CancellationToken cancellationToken = default)
    {
        await using var db = await _store.CreateDbContextAsync(cancellationToken);
        var docs = await DocumentStampAsync(db, personaId, cancellationToken);
        var curated = await db.CuratedAnswers.Where(a => a.PersonaId == personaId)
            .GroupBy(_ => 1).Select(g => new { Count = g.Count(), Sum = g.Sum(a => a.Id) }).FirstOrDefaultAsync(cancellationToken);
        return DocumentStampPart(docs) + FormattableString.Invariant($"|c{curated?.Count ?? 0}:{curated?.Sum ?? 0}");
    }

    private static async Task<(int Count, long Sum)> DocumentStampAsync(ChatDbContext db, string personaId, CancellationToken cancellationToken)
    {
        var docs = await db.KnowledgeDocuments.Where(d => d.PersonaId == personaId)
            .GroupBy(_ => 1).Select(g => new { Count = g.Count(), Sum = g.Sum(d => d.Id) }).FirstOrDefaultAsync(cancellationToken);
        return (docs?.Count ?? 0, docs?.Sum ?? 0);
    }

    private string DocumentStampPart((int Count, long Sum) docs) =>
        FormattableString.Invariant($"v1|e:{EmbeddingModel ?? "-"}|d{docs.Count}:{docs.Sum}");

    /// <summary>
    /// Rebuilds a persona's part of the index from the store when its stamp differs (or when forced). Checked at
    /// most once per refresh interval per persona unless forced.
    /// </summary>
    public async Task EnsureIndexAsync(string personaId, bool force = false, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        if (!force && _checkedAt.TryGetValue(personaId, out var at) && now - at < _refresh) return;
        var stamp = await StoreStampAsync(personaId, cancellationToken);
        if (!force && _index.GetStamp(personaId) == stamp)
        {
            _checkedAt[personaId] = now;
            return;
        }

        await _rebuild.WaitAsync(cancellationToken);
        try
        {
            stamp = await StoreStampAsync(personaId, cancellationToken);
            if (!force && _index.GetStamp(personaId) == stamp) return;
            var stopwatch = Stopwatch.StartNew();
            var entries = new List<IndexEntry>();
            await using (var db = await _store.CreateDbContextAsync(cancellationToken))
            {
                var docs = await db.KnowledgeDocuments.AsNoTracking().Where(d => d.PersonaId == personaId).Include(d => d.Chunks).ToListAsync(cancellationToken);
                foreach (var d in docs)
                    entries.AddRange(await EntriesAsync(d, d.Chunks, cancellationToken));
                var curated = await db.CuratedAnswers.AsNoTracking().Where(a => a.PersonaId == personaId).ToListAsync(cancellationToken);
                entries.AddRange(CuratedEntries(curated));
            }
            await _index.ReplaceAsync(personaId, entries, stamp, cancellationToken: cancellationToken);
            _checkedAt[personaId] = _time.GetUtcNow();
            LogIndexRebuilt(_logger, personaId, entries.Count, stopwatch.Elapsed.TotalMilliseconds);
        }
        finally
        {
            _rebuild.Release();
        }
    }

    private async Task<List<IndexEntry>> EntriesAsync(KnowledgeDocumentRecord document, IEnumerable<KnowledgeChunkRecord> chunks, CancellationToken cancellationToken)
    {
        var entries = chunks.OrderBy(c => c.Ordinal).Select(c => new IndexEntry(
            IndexEntry.Passage, c.Key, document.Id, document.Title, c.Section.Length > 0 ? c.Section : null, c.Page, document.Link,
            c.Text, document.Title + "\n" + c.Section + "\n" + c.Text)).ToList();
        if (_embedder is null) return entries;
        var vectors = await _embedder.GenerateAsync(entries.Select(e => e.IndexedText), cancellationToken: cancellationToken);
        return [.. entries.Select((e, i) => e with { Vector = vectors[i].Vector.ToArray() })];
    }

    private static List<IndexEntry> CuratedEntries(IEnumerable<CuratedAnswerRecord> curated) =>
        [.. curated.Select(a => new IndexEntry(IndexEntry.Curated, a.Key, a.Id, a.Question, null, null, null, a.Answer, a.Question))];

    [LoggerMessage(Level = LogLevel.Information, Message = "Rebuilt the knowledge index of persona {Persona}: {Entries} entries in {Ms:F0} ms")]
    private static partial void LogIndexRebuilt(ILogger logger, string persona, int entries, double ms);
}
