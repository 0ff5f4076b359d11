using System.Text;
using ChatPlatform.Data.Knowledge;
using ChatPlatform.Knowledge.Ingestion;
using ChatPlatform.Knowledge.Search;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Knowledge;

// Curated answers: imported, added and removed in the store; their part of the index is written again on each change.
public sealed partial class KnowledgeBase
{
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

    private async Task CountHitAsync(long id, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        await using var db = await _store.CreateDbContextAsync(cancellationToken);
        await db.CuratedAnswers.Where(a => a.Id == id)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.Hits, a => a.Hits + 1).SetProperty(a => a.LastHitAt, now), cancellationToken);
    }
}

public sealed record CuratedAnswerInfo(string Id, string Question, string Answer, string? Locale, string Author, long Hits, DateTimeOffset? LastHitAt, DateTimeOffset UpdatedAt);
