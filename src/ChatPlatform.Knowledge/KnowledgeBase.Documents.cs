using System.Diagnostics;
using System.Security.Cryptography;
using ChatPlatform.Core.Personas;
using ChatPlatform.Data.Knowledge;
using ChatPlatform.Knowledge.Ingestion;
using ChatPlatform.Knowledge.Search;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Knowledge;

// Documents: imports, removals, listings, and a pack's knowledge/ folder brought into the store.
public sealed partial class KnowledgeBase
{
    /// <summary>
    /// Imports one file into a persona's knowledge. An unchanged file (same SHA-256) is skipped; a changed one
    /// replaces its passages; the old passages stay until the new ones are stored (one transaction).
    /// </summary>
    /// <param name="source">The name the document is known by (default: the file name); the same name replaces.</param>
    public async Task<IngestResult> AddFileAsync(string personaId, string path, string? source = null, string origin = KnowledgeOrigins.Upload,
        IProgress<IngestProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(personaId);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        source ??= Path.GetFileName(path);
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(path, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KnowledgeImportException($"{path}: cannot read the file ({e.Message})", e);
        }
        return await AddAsync(personaId, source, bytes, origin, progress, cancellationToken);
    }

    /// <summary>Imports a document from its bytes; see <see cref="AddFileAsync"/>.</summary>
    public async Task<IngestResult> AddAsync(string personaId, string source, byte[] bytes, string origin = KnowledgeOrigins.Upload,
        IProgress<IngestProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var stopwatch = Stopwatch.StartNew();
        if (source.Length > 400) throw new KnowledgeImportException($"{source[..40]}…: the document name is longer than 400 characters");
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var before = await StoreStampAsync(personaId, cancellationToken);

        await using (var db = await _store.CreateDbContextAsync(cancellationToken))
        {
            var existing = await db.KnowledgeDocuments.AsNoTracking()
                .FirstOrDefaultAsync(d => d.PersonaId == personaId && d.Source == source, cancellationToken);
            if (existing is not null && existing.ContentHash == hash && existing.Origin == origin)
            {
                await EnsureIndexAsync(personaId, force: false, cancellationToken);
                return new IngestResult(source, IngestStatus.Unchanged, 0, existing.Pages, stopwatch.Elapsed);
            }
        }

        var document = DocumentExtractor.Extract(source, bytes, progress, cancellationToken);
        var chunks = Chunker.Split(source, document);
        progress?.Report(new IngestProgress(source, "storing", 0, chunks.Count));

        long? oldId = null;
        KnowledgeDocumentRecord record;
        await using (var db = await _store.CreateDbContextAsync(cancellationToken))
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var existing = await db.KnowledgeDocuments.FirstOrDefaultAsync(d => d.PersonaId == personaId && d.Source == source, cancellationToken);
            var now = _time.GetUtcNow();
            if (existing is not null)
            {
                oldId = existing.Id;
                db.KnowledgeDocuments.Remove(existing);
                await db.SaveChangesAsync(cancellationToken);
            }
            record = new KnowledgeDocumentRecord
            {
                PersonaId = personaId,
                Source = source,
                Title = Truncate(document.Title, 400),
                Format = document.Format,
                ContentHash = hash,
                Origin = origin,
                Link = document.Link is { Length: <= 2000 } link ? link : null,
                Bytes = bytes.LongLength,
                Pages = document.Pages,
                CreatedAt = existing?.CreatedAt ?? now,
                UpdatedAt = now,
                Chunks = [.. chunks.Select(c => new KnowledgeChunkRecord
                {
                    Key = Truncate(c.Key, 600), Ordinal = c.Ordinal, Section = Truncate(c.Section, 1000), Page = c.Page, Text = c.Text,
                })],
            };
            db.KnowledgeDocuments.Add(record);
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        progress?.Report(new IngestProgress(source, "indexing", 0, chunks.Count));
        var after = await StoreStampAsync(personaId, cancellationToken);
        if (_index.GetStamp(personaId) == before)
        {
            // The index was current: change only this document's passages.
            if (oldId is { } old)
                await _index.RemoveAsync(personaId, IndexEntry.Passage, old, before, cancellationToken);
            await _index.ReplaceAsync(personaId, await EntriesAsync(record, record.Chunks, cancellationToken), after, IndexEntry.Passage, record.Id, cancellationToken);
        }
        else
        {
            await EnsureIndexAsync(personaId, force: true, cancellationToken);
        }
        progress?.Report(new IngestProgress(source, "indexing", chunks.Count, chunks.Count));
        LogImported(_logger, personaId, source, chunks.Count, stopwatch.Elapsed.TotalMilliseconds);
        return new IngestResult(source, oldId is null ? IngestStatus.Added : IngestStatus.Replaced, chunks.Count, document.Pages, stopwatch.Elapsed);
    }

    /// <summary>Removes a document and its passages; false when the persona has no document by that name.</summary>
    public async Task<bool> RemoveAsync(string personaId, string source, CancellationToken cancellationToken = default)
    {
        var before = await StoreStampAsync(personaId, cancellationToken);
        long id;
        await using (var db = await _store.CreateDbContextAsync(cancellationToken))
        {
            var existing = await db.KnowledgeDocuments.FirstOrDefaultAsync(d => d.PersonaId == personaId && d.Source == source, cancellationToken);
            if (existing is null) return false;
            id = existing.Id;
            db.KnowledgeDocuments.Remove(existing);
            await db.SaveChangesAsync(cancellationToken);
        }
        var after = await StoreStampAsync(personaId, cancellationToken);
        if (_index.GetStamp(personaId) == before)
            await _index.RemoveAsync(personaId, IndexEntry.Passage, id, after, cancellationToken);
        else
            await EnsureIndexAsync(personaId, force: true, cancellationToken);
        return true;
    }

    public async Task<IReadOnlyList<DocumentInfo>> ListAsync(string personaId, CancellationToken cancellationToken = default)
    {
        await using var db = await _store.CreateDbContextAsync(cancellationToken);
        var docs = await db.KnowledgeDocuments.AsNoTracking().Where(d => d.PersonaId == personaId)
            .Select(d => new { d.Source, d.Title, d.Format, d.Origin, d.Pages, d.Bytes, d.UpdatedAt, Chunks = d.Chunks.Count })
            .ToListAsync(cancellationToken);
        return [.. docs.OrderBy(d => d.Source, StringComparer.Ordinal)
            .Select(d => new DocumentInfo(d.Source, d.Title, d.Format, d.Origin, d.Chunks, d.Pages, d.Bytes, d.UpdatedAt))];
    }

    /// <summary>
    /// Brings a pack's knowledge/ folder into the store: new and changed files are imported, unchanged ones skipped
    /// (by hash), documents whose file left the folder are removed, and curated*.csv files are imported as curated
    /// answers. A file that cannot be read is reported and skipped; the others still go in.
    /// </summary>
    public async Task<PackSyncResult> SyncPackAsync(PersonaPack pack, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pack);
        var results = new List<IngestResult>();
        var problems = new List<string>();
        var curated = 0;
        var present = new HashSet<string>(StringComparer.Ordinal);
        if (pack.KnowledgeDirectory is { } folder && Directory.Exists(folder))
        {
            foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var relative = Path.GetRelativePath(folder, file).Replace('\\', '/');
                if (Path.GetFileName(file).StartsWith('.')) continue;
                try
                {
                    if (IsCuratedCsv(file))
                    {
                        curated += (await ImportCuratedCsvAsync(pack.Id, file, "pack", cancellationToken)).Count;
                    }
                    else if (DocumentExtractor.FormatOf(file) is not null)
                    {
                        present.Add(relative);
                        results.Add(await AddFileAsync(pack.Id, file, relative, KnowledgeOrigins.Pack, null, cancellationToken));
                    }
                }
                catch (KnowledgeImportException e)
                {
                    problems.Add(e.Message);
                    present.Add(relative);
                }
            }
        }

        List<string> gone;
        await using (var db = await _store.CreateDbContextAsync(cancellationToken))
        {
            gone = await db.KnowledgeDocuments.Where(d => d.PersonaId == pack.Id && d.Origin == KnowledgeOrigins.Pack)
                .Select(d => d.Source).ToListAsync(cancellationToken);
        }
        var removed = 0;
        foreach (var source in gone.Where(s => !present.Contains(s)))
            if (await RemoveAsync(pack.Id, source, cancellationToken)) removed++;
        await EnsureIndexAsync(pack.Id, force: false, cancellationToken);
        return new PackSyncResult(pack.Id, results, removed, curated, problems);
    }

    private static bool IsCuratedCsv(string file) =>
        Path.GetExtension(file).Equals(".csv", StringComparison.OrdinalIgnoreCase)
        && Path.GetFileName(file).StartsWith("curated", StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(Level = LogLevel.Information, Message = "Imported {Source} into persona {Persona}: {Chunks} passage(s) in {Ms:F0} ms")]
    private static partial void LogImported(ILogger logger, string persona, string source, int chunks, double ms);
}

public enum IngestStatus
{
    Added,
    Replaced,
    Unchanged,
}

public sealed record IngestResult(string Source, IngestStatus Status, int Chunks, int Pages, TimeSpan Elapsed);

public sealed record PackSyncResult(string Persona, IReadOnlyList<IngestResult> Documents, int Removed, int Curated, IReadOnlyList<string> Problems);

public sealed record DocumentInfo(string Source, string Title, string Format, string Origin, int Chunks, int Pages, long Bytes, DateTimeOffset UpdatedAt);
