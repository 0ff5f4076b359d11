using System.Security.Claims;
using ChatPlatform.Admin.Security;
using ChatPlatform.Data.Admin;
using ChatPlatform.Data.Knowledge;
using ChatPlatform.Knowledge;
using ChatPlatform.Knowledge.Ingestion;
using Microsoft.AspNetCore.Authorization;

namespace ChatPlatform.Admin.Knowledge;

/// <summary>
/// The console's knowledge changes, shared by the Knowledge page and its API: each checks what the console accepts,
/// hands the work to <see cref="KnowledgeBase"/> and writes the change to the audit log.
/// </summary>
public sealed class KnowledgeConsole(KnowledgeBase knowledge, AdminAccounts accounts, IAuthorizationService authorization, Data.Personas.PersonaVersions versions)
{
    /// <summary>Largest document the console accepts (50 MiB).</summary>
    public const long MaxDocumentBytes = 50L * 1024 * 1024;

    /// <summary>Largest curated-answer CSV the console accepts (5 MiB).</summary>
    public const long MaxCsvBytes = 5L * 1024 * 1024;

    /// <summary>The file types an upload may have, for the file picker's accept attribute.</summary>
    public static string AcceptedTypes => string.Join(",", DocumentExtractor.Formats.Keys);

    public KnowledgeBase Base => knowledge;

    /// <summary>
    /// Why a document upload is refused before it is read (unsupported type, empty, too large), or null when it may go on.
    /// </summary>
    public static string? CheckDocument(string fileName, long size)
    {
        if (string.IsNullOrWhiteSpace(fileName) || fileName != Path.GetFileName(fileName))
            return $"'{fileName}': the document name must be a plain file name.";
        if (DocumentExtractor.FormatOf(fileName) is null)
            return $"{fileName}: unsupported file type '{Path.GetExtension(fileName)}'; supported: {string.Join(", ", DocumentExtractor.Formats.Keys)}";
        if (size == 0) return $"{fileName}: the file is empty.";
        if (size > MaxDocumentBytes) return $"{fileName}: the file is {size / (1024 * 1024)} MiB; the limit is {MaxDocumentBytes / (1024 * 1024)} MiB.";
        return null;
    }

    /// <summary>Reads at most <paramref name="limit"/> bytes; null when the stream holds more.</summary>
    public static async Task<byte[]?> ReadLimitedAsync(Stream stream, long limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit) return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>Imports an uploaded document; a refused file throws <see cref="KnowledgeImportException"/> and stores nothing.</summary>
    public async Task<IngestResult> UploadAsync(string personaId, string fileName, byte[] bytes, string actor,
        IProgress<IngestProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (CheckDocument(fileName, bytes.LongLength) is { } problem) throw new KnowledgeImportException(problem);
        var result = await knowledge.AddAsync(personaId, fileName, bytes, KnowledgeOrigins.Upload, progress, cancellationToken);
        if (result.Status != IngestStatus.Unchanged)
            await accounts.AuditAsync(actor, "knowledge.document.import", $"{personaId}/{fileName}",
                new { status = result.Status.ToString(), result.Chunks, result.Pages, bytes = bytes.LongLength }, cancellationToken);
        return result;
    }

    public async Task<bool> RemoveAsync(string personaId, string source, string actor, CancellationToken cancellationToken = default)
    {
        var removed = await knowledge.RemoveAsync(personaId, source, cancellationToken);
        if (removed) await accounts.AuditAsync(actor, "knowledge.document.remove", $"{personaId}/{source}", null, cancellationToken);
        return removed;
    }

    /// <summary>Imports curated answers from an uploaded CSV: all rows or, when any row is bad, none.</summary>
    public async Task<IReadOnlyList<CuratedAnswerInfo>> ImportCuratedCsvAsync(string personaId, string fileName, byte[] bytes, string actor,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var name = Path.GetFileName(fileName);
        if (!string.Equals(Path.GetExtension(name), ".csv", StringComparison.OrdinalIgnoreCase))
            throw new KnowledgeImportException($"{name}: curated answers are imported from a .csv file (header: question,answer[,id,locale]).");
        if (bytes.LongLength > MaxCsvBytes) throw new KnowledgeImportException($"{name}: the file is larger than {MaxCsvBytes / (1024 * 1024)} MiB.");
        // KnowledgeBase reads curated CSVs from a file; a private folder keeps the uploaded name for its messages.
        var folder = Directory.CreateTempSubdirectory("chatplatform-curated-");
        try
        {
            var path = Path.Combine(folder.FullName, name);
            await File.WriteAllBytesAsync(path, bytes, cancellationToken);
            var saved = await knowledge.ImportCuratedCsvAsync(personaId, path, actor, cancellationToken);
            await accounts.AuditAsync(actor, "knowledge.curated.import", $"{personaId}/{name}", new { answers = saved.Count }, cancellationToken);
            return saved;
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    public async Task<bool> RemoveCuratedAsync(string personaId, string key, string actor, CancellationToken cancellationToken = default)
    {
        var removed = await knowledge.RemoveCuratedAsync(personaId, key, cancellationToken);
        if (removed) await accounts.AuditAsync(actor, "knowledge.curated.remove", $"{personaId}/{key}", null, cancellationToken);
        return removed;
    }

    /// <summary>Whether the console knows the persona (it has at least one version).</summary>
    public Task<bool> PersonaExistsAsync(string personaId, CancellationToken cancellationToken = default) =>
        versions.ExistsAsync(personaId, cancellationToken);

    /// <summary>The one-line answer for a persona id the console does not know.</summary>
    public static string NoPersona(string personaId) => $"There is no persona '{personaId}'.";

    /// <summary>
    /// Adds (or replaces, for the same question) a curated answer written in the console: by hand on the Knowledge page,
    /// or from a playground reply. Only accounts the <see cref="AdminPolicies.Personas"/> policy admits (Admins and
    /// Editors) may; anyone else gets <see cref="UnauthorizedAccessException"/>, whatever the page showed them. A bad
    /// draft throws <see cref="KnowledgeImportException"/>, an unknown persona <see cref="KeyNotFoundException"/>, and
    /// neither stores anything.
    /// </summary>
    /// <param name="origin">Where it was written, for the audit log: <c>manual</c>, <c>playground</c>, <c>api</c>.</param>
    public async Task<CuratedAnswerInfo> AddCuratedAsync(string personaId, CuratedAnswerDraft draft, ClaimsPrincipal user, string origin,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(user);
        if (!(await authorization.AuthorizeAsync(user, AdminPolicies.Personas)).Succeeded)
            throw new UnauthorizedAccessException("Only Admins and Editors may add curated answers.");
        if (draft.Problem is { } problem) throw new KnowledgeImportException(problem);
        if (!await PersonaExistsAsync(personaId, cancellationToken))
            throw new KeyNotFoundException(NoPersona(personaId));
        var actor = AdminPrincipal.Actor(user);
        var locale = string.IsNullOrWhiteSpace(draft.Locale) ? null : draft.Locale.Trim();
        var saved = await knowledge.AddCuratedAsync(personaId, draft.Question, draft.StoredAnswer, actor, locale, cancellationToken: cancellationToken);
        await accounts.AuditAsync(actor, "knowledge.curated.add", $"{personaId}/{saved.Id}",
            new { origin, locale, source = !string.IsNullOrWhiteSpace(draft.Source) }, cancellationToken);
        return saved;
    }

    /// <summary>Turns a stored assistant reply into a curated answer of its conversation's persona.</summary>
    public async Task<CuratedAnswerInfo> CurateReplyAsync(long messageId, string actor, CancellationToken cancellationToken = default)
    {
        var saved = await knowledge.AddCuratedFromReplyAsync(messageId, actor, cancellationToken: cancellationToken);
        await accounts.AuditAsync(actor, "knowledge.curated.from_reply", $"message/{messageId}", new { key = saved.Id }, cancellationToken);
        return saved;
    }
}
