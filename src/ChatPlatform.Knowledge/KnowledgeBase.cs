using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ChatPlatform.Core.Knowledge;
using ChatPlatform.Core.Personas;
using ChatPlatform.Data;
using ChatPlatform.Data.Knowledge;
using ChatPlatform.Knowledge.Ingestion;
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
    /// <summary>Rank constant of reciprocal rank fusion (the usual 60).</summary>
    public const int FusionK = 60;

    /// <summary>Cosine similarity a passage found only by meaning needs to count as relevant.</summary>
    public const double DenseMinSimilarity = 0.6;

    private const int Candidates = 20;

    /// <summary>How much a passage's coverage of the question's words weighs against its fused rank.</summary>
    private const double CoverageBoost = 0.5;

    /// <summary>Rarity weight of a word in half the entries: commoner words are not worth matching on.</summary>
    private const double CommonWordWeight = 0.69;

    /// <summary>Index size from which common words are left out of the match.</summary>
    private const long PruneFromEntries = 2000;

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

    // ================================================================== documents

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

    // ================================================================== curated answers

    /// <summary>
    /// Imports curated answers from a CSV with a header row: <c>question</c> and <c>answer</c> columns are required,
    /// <c>id</c> and <c>locale</c> optional. Rows with an existing id (or the same question) replace it, keeping its hit
    /// count. All rows go in together, or none when any row is bad.
    /// </summary>
    public async Task<IReadOnlyList<CuratedAnswerInfo>> ImportCuratedCsvAsync(string personaId, string path, string author, CancellationToken cancellationToken = default)
    {
        string text;
        try
        {
            text = await File.ReadAllTextAsync(path, Encoding.UTF8, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KnowledgeImportException($"{path}: cannot read the file ({e.Message})", e);
        }
        var rows = CuratedCsv.Parse(Path.GetFileName(path), text);
        return await UpsertCuratedAsync(personaId, rows, author, cancellationToken);
    }

    /// <summary>
    /// Adds (or replaces, by key) one curated answer, e.g. from a good reply an operator approves in the console.
    /// The key defaults to one derived from the question.
    /// </summary>
    public async Task<CuratedAnswerInfo> AddCuratedAsync(string personaId, string question, string answer, string author,
        string? locale = null, string? key = null, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(question)) throw new KnowledgeImportException("The curated question is empty.");
        if (string.IsNullOrWhiteSpace(answer)) throw new KnowledgeImportException("The curated answer is empty.");
        var saved = await UpsertCuratedAsync(personaId, [new CuratedRow(key ?? CuratedCsv.KeyFor(question), question.Trim(), answer.Trim(), locale, 0)], author, cancellationToken);
        return saved[0];
    }

    /// <summary>
    /// Turns a stored reply into a curated answer (the console's "approve this reply"): the reply becomes the answer,
    /// the user message before it the question, in the conversation's persona and locale.
    /// </summary>
    public async Task<CuratedAnswerInfo> AddCuratedFromReplyAsync(long messageId, string author, string? answerOverride = null, CancellationToken cancellationToken = default)
    {
        string persona, locale, question, answer;
        await using (var db = await _store.CreateDbContextAsync(cancellationToken))
        {
            var reply = await db.Messages.AsNoTracking().FirstOrDefaultAsync(m => m.Id == messageId, cancellationToken)
                ?? throw new KnowledgeImportException($"Message {messageId} does not exist.");
            if (reply.Role != "assistant")
                throw new KnowledgeImportException($"Message {messageId} is a {reply.Role} message; only a reply can become a curated answer.");
            var asked = await db.Messages.AsNoTracking()
                .Where(m => m.ConversationId == reply.ConversationId && m.Sequence < reply.Sequence && m.Role == "user")
                .OrderByDescending(m => m.Sequence).FirstOrDefaultAsync(cancellationToken)
                ?? throw new KnowledgeImportException($"Message {messageId} has no question before it.");
            var conversation = await db.Conversations.AsNoTracking().FirstAsync(c => c.Id == reply.ConversationId, cancellationToken);
            (persona, locale, question, answer) = (conversation.PersonaId, conversation.Locale, asked.Text, answerOverride ?? reply.Text);
        }
        return await AddCuratedAsync(persona, question, answer, author, locale, cancellationToken: cancellationToken);
    }

    private async Task<IReadOnlyList<CuratedAnswerInfo>> UpsertCuratedAsync(string personaId, IReadOnlyList<CuratedRow> rows, string author, CancellationToken cancellationToken)
    {
        var saved = new List<CuratedAnswerRecord>();
        await using (var db = await _store.CreateDbContextAsync(cancellationToken))
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var existing = await db.CuratedAnswers.Where(a => a.PersonaId == personaId).ToListAsync(cancellationToken);
            var now = _time.GetUtcNow();
            foreach (var row in rows)
            {
                var old = existing.FirstOrDefault(a => a.Key == row.Key)
                    ?? existing.FirstOrDefault(a => string.Equals(a.Question.Trim(), row.Question, StringComparison.Ordinal));
                if (old is not null && old.Answer == row.Answer && old.Question == row.Question && old.Locale == row.Locale)
                {
                    saved.Add(old);
                    continue;
                }
                if (old is not null)
                {
                    // A new row rather than an update, so every node sees the change in the store's stamp.
                    db.CuratedAnswers.Remove(old);
                    existing.Remove(old);
                    await db.SaveChangesAsync(cancellationToken);
                }
                var record = new CuratedAnswerRecord
                {
                    PersonaId = personaId,
                    Key = old?.Key ?? row.Key,
                    Question = Truncate(row.Question, 2000),
                    Answer = row.Answer,
                    Locale = row.Locale,
                    Author = Truncate(author, 128),
                    Hits = old?.Hits ?? 0,
                    LastHitAt = old?.LastHitAt,
                    CreatedAt = old?.CreatedAt ?? now,
                    UpdatedAt = now,
                };
                db.CuratedAnswers.Add(record);
                existing.Add(record);
                saved.Add(record);
            }
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        await RefreshCuratedIndexAsync(personaId, cancellationToken);
        return [.. saved.Select(ToInfo)];
    }

    public async Task<IReadOnlyList<CuratedAnswerInfo>> ListCuratedAsync(string personaId, CancellationToken cancellationToken = default)
    {
        await using var db = await _store.CreateDbContextAsync(cancellationToken);
        var records = await db.CuratedAnswers.AsNoTracking().Where(a => a.PersonaId == personaId).ToListAsync(cancellationToken);
        return [.. records.OrderBy(a => a.Key, StringComparer.Ordinal).Select(ToInfo)];
    }

    public async Task<bool> RemoveCuratedAsync(string personaId, string key, CancellationToken cancellationToken = default)
    {
        await using (var db = await _store.CreateDbContextAsync(cancellationToken))
        {
            var removed = await db.CuratedAnswers.Where(a => a.PersonaId == personaId && a.Key == key).ExecuteDeleteAsync(cancellationToken);
            if (removed == 0) return false;
        }
        await RefreshCuratedIndexAsync(personaId, cancellationToken);
        return true;
    }

    private static CuratedAnswerInfo ToInfo(CuratedAnswerRecord a) => new(a.Key, a.Question, a.Answer, a.Locale, a.Author, a.Hits, a.LastHitAt, a.UpdatedAt);

    private async Task RefreshCuratedIndexAsync(string personaId, CancellationToken cancellationToken)
    {
        // Curated answers are few: their part of the index is simply written again.
        await using var db = await _store.CreateDbContextAsync(cancellationToken);
        var stale = _index.GetStamp(personaId) is not { } current || !current.StartsWith(DocumentStampPart(await DocumentStampAsync(db, personaId, cancellationToken)), StringComparison.Ordinal);
        if (stale)
        {
            await EnsureIndexAsync(personaId, force: true, cancellationToken);
            return;
        }
        var curated = await db.CuratedAnswers.AsNoTracking().Where(a => a.PersonaId == personaId).ToListAsync(cancellationToken);
        var stamp = await StoreStampAsync(personaId, cancellationToken);
        await _index.ReplaceAsync(personaId, CuratedEntries(curated), stamp, IndexEntry.Curated, null, cancellationToken);
        _checkedAt[personaId] = _time.GetUtcNow();
    }

    // ================================================================== the index

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

    // ================================================================== search

    public async Task<KnowledgeLookup> LookupAsync(PersonaPack pack, string question, string locale, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pack);
        var ranking = await RankAsync(pack.Id, question, pack.Knowledge, pack.Knowledge.TopK, cancellationToken);
        if (ranking.Curated is { } curated)
        {
            await CountHitAsync(curated.SourceId, cancellationToken);
            return new KnowledgeLookup(new CuratedMatch(curated.Id, curated.Title, curated.Text, curated.Score), []);
        }
        return new KnowledgeLookup(null, [.. ranking.Passages.Where(p => p.Relevant).Select(p =>
            new KnowledgePassage(p.Id, p.Text, p.Title, p.Section, p.Page, p.Link, p.Score))]);
    }

    /// <summary>
    /// Ranks a persona's passages for a question: BM25 over segmented terms, fused with dense similarity by reciprocal
    /// rank when an embedding model is configured. Also reports the best curated answer when it is above the threshold.
    /// </summary>
    public async Task<Ranking> RankAsync(string personaId, string question, KnowledgeSettings settings, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        await EnsureIndexAsync(personaId, cancellationToken: cancellationToken);
        var vocabulary = _index.Vocabulary();
        // jieba guesses words it does not know from character statistics (药放冰箱 → 药放 | 冰箱); a guess that no entry
        // holds is searched by its characters instead, each like a lone character below.
        var terms = TextAnalyzer.QueryTerms(question)
            .SelectMany(t => TextAnalyzer.IsGuessedWord(t) && !vocabulary.Contains(t) ? TextAnalyzer.Characters(t) : [t])
            .Distinct(StringComparer.Ordinal).ToList();
        if (terms.Count == 0) return new Ranking(null, []);
        var weights = vocabulary.TermWeights(terms);
        var totalWeight = terms.Sum(t => weights[t]);

        RankedItem? curated = null;
        foreach (var hit in _index.Search(personaId, IndexEntry.Curated, terms, 10))
        {
            var similarity = Similarity(terms, TextAnalyzer.QueryTerms(hit.Entry.Title), weights);
            if (similarity >= settings.CuratedThreshold && (curated is null || similarity > curated.Score))
                curated = new RankedItem(hit.Entry.Key, IndexEntry.Curated, hit.Entry.SourceId, hit.Entry.Title, null, null, null, hit.Entry.Text, similarity, true);
        }

        // A question word may be found through the words documents use for it (Synonyms: 晚上 → 非开放时间, cost → fee);
        // a lone Han character without synonyms also searches the words that contain it (约 → 预约). A word counts as
        // covered by any of its alternatives whose words are all in a passage. Alternatives the index lacks are left out.
        var expansions = terms.ToDictionary(t => t, t => Alternatives(vocabulary, t), StringComparer.Ordinal);
        var searchTerms = terms.Concat(expansions.Values.SelectMany(a => a).SelectMany(a => a)).Distinct(StringComparer.Ordinal).ToList();
        // Words in most passages add almost nothing to BM25 but make it score nearly every row: they are left out of
        // the match (not out of coverage), keeping at least the rarest word. The words a lone character stands for are
        // judged the same way (the most frequent ones come first, and they are the costliest to score).
        // Only in large indexes: in a small one every word is "common" and each still tells passages apart.
        var searchWeights = vocabulary.TermWeights(searchTerms);
        var matchTerms = vocabulary.Entries < PruneFromEntries ? searchTerms
            : searchTerms.Where(t => searchWeights[t] >= CommonWordWeight).ToList();
        if (matchTerms.Count == 0)
            matchTerms = [searchTerms.MaxBy(t => searchWeights[t])!];
        var lexical = _index.Search(personaId, IndexEntry.Passage, matchTerms, Candidates);
        bool Covers(IReadOnlyCollection<string> entryTerms, string term) =>
            entryTerms.Contains(term) || expansions[term].Any(alternative => alternative.All(entryTerms.Contains));
        var fused = new Dictionary<long, double>();
        for (var i = 0; i < lexical.Count; i++)
            fused[lexical[i].RowId] = 1.0 / (FusionK + i + 1);
        var cosine = new Dictionary<long, double>();
        if (_embedder is not null)
        {
            var query = (await _embedder.GenerateAsync([question], cancellationToken: cancellationToken))[0].Vector.ToArray();
            var dense = Vectors(personaId)
                .Select(v => (v.RowId, Cosine: Dot(query, v.Vector)))
                .OrderByDescending(v => v.Cosine).Take(Candidates).ToList();
            for (var i = 0; i < dense.Count; i++)
            {
                cosine[dense[i].RowId] = dense[i].Cosine;
                fused[dense[i].RowId] = fused.GetValueOrDefault(dense[i].RowId) + 1.0 / (FusionK + i + 1);
            }
        }

        var known = lexical.ToDictionary(h => h.RowId, h => (h.Entry, Terms: (IReadOnlyCollection<string>)h.Terms));
        foreach (var (id, value) in _index.Get([.. fused.Keys.Where(k => !known.ContainsKey(k))]))
            known[id] = (value.Entry, value.Terms);

        // The fused rank decides, but a candidate holding more of the question's rare words is lifted: short questions
        // often match many passages through one common word, and coverage tells those apart from the real answer.
        var passages = fused.Select(f =>
        {
            var (entry, entryTerms) = known[f.Key];
            var coverage = totalWeight <= 0 ? 0 : terms.Where(t => Covers(entryTerms, t)).Sum(t => weights[t]) / totalWeight;
            var relevant = coverage >= settings.MinRelevance || cosine.GetValueOrDefault(f.Key) >= DenseMinSimilarity;
            return new RankedItem(entry.Key, IndexEntry.Passage, entry.SourceId, entry.Title, entry.Section, entry.Page, entry.Link, entry.Text,
                f.Value * (CoverageBoost + coverage), relevant)
            {
                Coverage = coverage,
            };
        }).OrderByDescending(p => p.Score).Take(limit).ToList();
        return new Ranking(curated, passages);
    }

    private static List<string[]> Alternatives(IndexVocabulary vocabulary, string term)
    {
        var synonyms = Synonyms.For(term);
        if (synonyms.Count > 0) return [.. synonyms.Where(a => a.All(vocabulary.Contains))];
        return term.Length == 1 && term[0] > '\u2E80' ? [.. vocabulary.WordsContaining(term).Select(w => new[] { w })] : [];
    }

    /// <summary>Cosine of the two term sets, each term weighted by its rarity.</summary>
    private static double Similarity(List<string> a, List<string> b, Dictionary<string, double> weights)
    {
        if (a.Count == 0 || b.Count == 0) return 0;
        double Weight(string t) => weights.TryGetValue(t, out var w) ? w : weights.Count > 0 ? weights.Values.Max() : 1;
        var setB = new HashSet<string>(b, StringComparer.Ordinal);
        var shared = a.Where(setB.Contains).Sum(t => Weight(t) * Weight(t));
        var na = Math.Sqrt(a.Sum(t => Weight(t) * Weight(t)));
        var nb = Math.Sqrt(setB.Sum(t => Weight(t) * Weight(t)));
        return na == 0 || nb == 0 ? 0 : shared / (na * nb);
    }

    private List<(long RowId, float[] Vector)> Vectors(string personaId)
    {
        var stamp = _index.GetStamp(personaId) ?? "";
        if (_vectors.TryGetValue(personaId, out var cached) && cached.Stamp == stamp) return cached.Vectors;
        var vectors = _index.Vectors(personaId);
        _vectors[personaId] = (stamp, vectors);
        return vectors;
    }

    private static double Dot(float[] a, float[] b)
    {
        var n = Math.Min(a.Length, b.Length);
        double sum = 0;
        for (var i = 0; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    private async Task CountHitAsync(long id, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        await using var db = await _store.CreateDbContextAsync(cancellationToken);
        await db.CuratedAnswers.Where(a => a.Id == id)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.Hits, a => a.Hits + 1).SetProperty(a => a.LastHitAt, now), cancellationToken);
    }

    public void Dispose() => _rebuild.Dispose();

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];

    [LoggerMessage(Level = LogLevel.Information, Message = "Imported {Source} into persona {Persona}: {Chunks} passage(s) in {Ms:F0} ms")]
    private static partial void LogImported(ILogger logger, string persona, string source, int chunks, double ms);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rebuilt the knowledge index of persona {Persona}: {Entries} entries in {Ms:F0} ms")]
    private static partial void LogIndexRebuilt(ILogger logger, string persona, int entries, double ms);
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

public sealed record CuratedAnswerInfo(string Id, string Question, string Answer, string? Locale, string Author, long Hits, DateTimeOffset? LastHitAt, DateTimeOffset UpdatedAt);

/// <summary>A ranked passage or curated answer. <see cref="Relevant"/>: enough of the question's words (or meaning) is in it.</summary>
public sealed record RankedItem(string Id, string Kind, long SourceId, string Title, string? Section, int? Page, string? Link, string Text, double Score, bool Relevant)
{
    public double Coverage { get; init; }
}

public sealed record Ranking(RankedItem? Curated, IReadOnlyList<RankedItem> Passages)
{
    /// <summary>Ids in rank order: the curated answer first when one matched, then the passages.</summary>
    public IReadOnlyList<string> Ids => [.. (Curated is null ? [] : new[] { Curated.Id }).Concat(Passages.Select(p => p.Id))];
}
