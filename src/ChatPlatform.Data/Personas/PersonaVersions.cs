using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using ChatPlatform.Data.Audit;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Data.Personas;

/// <summary>A persona as the console lists it.</summary>
public sealed record PersonaOverview(string Id, string Name, string? PackVersion, int? ActiveVersion, int? DraftVersion, bool Served, DateTimeOffset? ActivatedAt);

/// <summary>What a <see cref="PersonaVersions.RefreshAsync"/> changed: personas now served from the store, and those whose active version does not load here.</summary>
public sealed record PersonaRefresh(IReadOnlyList<string> Replaced, IReadOnlyList<string> NotLoaded);

/// <summary>The outcome of activating a draft: the problems that stopped it, or the version now live.</summary>
public sealed record ActivationResult(IReadOnlyList<PackProblem> Problems, int? ActivatedVersion)
{
    public bool Succeeded => ActivatedVersion is not null;
}

/// <summary>
/// Persona versions as the console works on them: one draft per persona that edits change, validation by the pack
/// loader, activation that swaps the pack in the running catalog (every channel serves it from the next turn on, no
/// restart), rollback to an earlier version. Each change writes an audit entry. Other nodes on the same store pick a
/// change up at their next <see cref="RefreshAsync"/>, and the command line at start (<see cref="RestoreAsync"/>).
/// Activated versions are written as pack folders under <c>&lt;DataDirectory&gt;/persona-versions</c>.
/// </summary>
public sealed class PersonaVersions(IDbContextFactory<ChatDbContext> contexts, IWritablePersonaCatalog catalog, ChatPlatformOptions options, TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _activation = new(1, 1);

    /// <summary>Per persona, the content hash of the version this node serves (see <see cref="RefreshAsync"/>).</summary>
    private readonly ConcurrentDictionary<string, string> _served = new(StringComparer.Ordinal);

    public void Dispose() => _activation.Dispose();

    public string VersionsDirectory => Path.GetFullPath(Path.Combine(options.DataDirectory, "persona-versions"));

    /// <summary>Where uploaded adapters of a persona are kept until a version that names them is written out.</summary>
    public string UploadsDirectory(string personaId) => Path.Combine(VersionsDirectory, personaId, "uploads");

    public async Task<IReadOnlyList<PersonaOverview>> ListAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var personas = await db.Personas.AsNoTracking().OrderBy(p => p.Id).ToListAsync(cancellationToken);
        var versions = await db.PersonaVersions.AsNoTracking()
            .Where(v => v.Status == PersonaVersionStatus.Active || v.Status == PersonaVersionStatus.Draft)
            .Select(v => new { v.PersonaId, v.Number, v.Status, v.ActivatedAt })
            .ToListAsync(cancellationToken);
        return [.. personas.Select(p =>
        {
            var active = versions.FirstOrDefault(v => v.PersonaId == p.Id && v.Status == PersonaVersionStatus.Active);
            var draft = versions.FirstOrDefault(v => v.PersonaId == p.Id && v.Status == PersonaVersionStatus.Draft);
            var served = catalog.Find(p.Id);
            return new PersonaOverview(p.Id, served?.Name ?? p.DisplayName, served?.Version, active?.Number, draft?.Number, served is not null, active?.ActivatedAt);
        })];
    }

    /// <summary>Every version of a persona, newest first.</summary>
    public async Task<IReadOnlyList<PersonaVersionRecord>> HistoryAsync(string personaId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.PersonaVersions.AsNoTracking().Where(v => v.PersonaId == personaId)
            .OrderByDescending(v => v.Number).ToListAsync(cancellationToken);
    }

    /// <summary>Whether the persona has any version, without reading the versions' files.</summary>
    public async Task<bool> ExistsAsync(string personaId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.PersonaVersions.AnyAsync(v => v.PersonaId == personaId, cancellationToken);
    }

    public async Task<PersonaVersionRecord?> FindAsync(string personaId, int number, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.PersonaVersions.AsNoTracking().FirstOrDefaultAsync(v => v.PersonaId == personaId && v.Number == number, cancellationToken);
    }

    /// <summary>The persona's draft; the first call makes one from the active version.</summary>
    /// <exception cref="KeyNotFoundException">No such persona, or it has no version to start from.</exception>
    public async Task<PersonaVersionRecord> GetOrCreateDraftAsync(string personaId, string actor, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var versions = await db.PersonaVersions.Where(v => v.PersonaId == personaId).ToListAsync(cancellationToken);
        if (versions.FirstOrDefault(v => v.Status == PersonaVersionStatus.Draft) is { } draft) return draft;
        var source = versions.FirstOrDefault(v => v.Status == PersonaVersionStatus.Active)
            ?? versions.OrderByDescending(v => v.Number).FirstOrDefault()
            ?? throw new KeyNotFoundException($"No persona '{personaId}'.");
        return await AddDraftAsync(db, personaId, source.Content, actor, $"draft from version {source.Number}", versions, cancellationToken);
    }

    /// <summary>Replaces the draft's files (making a draft first when there is none).</summary>
    /// <exception cref="ArgumentException">A file name is not a plain relative path.</exception>
    public async Task<PersonaVersionRecord> SaveDraftAsync(string personaId, IReadOnlyDictionary<string, string> files, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (files.Keys.Select(PackFiles.PathProblem).FirstOrDefault(p => p is not null) is { } problem)
            throw new ArgumentException(problem, nameof(files));
        var draft = await GetOrCreateDraftAsync(personaId, actor, cancellationToken);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var record = await db.PersonaVersions.FirstAsync(v => v.Id == draft.Id, cancellationToken);
        var content = PackFiles.Serialize(files);
        if (record.Content == content) return record;
        var changed = ChangedFiles(PackFiles.Parse(record.Content), files);
        record.Content = content;
        record.ContentHash = PackFiles.Hash(content);
        record.Author = actor;
        db.AuditLog.Add(Audit(actor, "persona.draft.save", personaId, new { version = record.Number, files = changed }));
        await db.SaveChangesAsync(cancellationToken);
        return record;
    }

    /// <summary>
    /// Runs the pack validator over a set of files as they would be activated. The folder stays (one per content) so
    /// the loaded pack can be tried in the playground and its evals run.
    /// </summary>
    public PackLoadResult LoadTrial(string personaId, IReadOnlyDictionary<string, string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (files.Keys.Select(PackFiles.PathProblem).FirstOrDefault(p => p is not null) is { } problem)
            return new PackLoadResult(null, [new PackProblem(personaId, 0, problem)]);
        var hash = PackFiles.Hash(PackFiles.Serialize(files));
        return WriteOnce(Path.Combine(VersionsDirectory, ".trial", personaId + "-" + hash[..16]), personaId, files);
    }

    /// <summary>Validates the draft and, when it has no problems, makes it the live version at once.</summary>
    public async Task<ActivationResult> ActivateDraftAsync(string personaId, string actor, CancellationToken cancellationToken)
    {
        await _activation.WaitAsync(cancellationToken);
        try
        {
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            var draft = await db.PersonaVersions.FirstOrDefaultAsync(v => v.PersonaId == personaId && v.Status == PersonaVersionStatus.Draft, cancellationToken)
                ?? throw new KeyNotFoundException($"Persona '{personaId}' has no draft to activate.");
            return await ActivateAsync(db, draft, actor, "persona.activate", cancellationToken);
        }
        finally
        {
            _activation.Release();
        }
    }

    /// <summary>Makes an earlier version live again.</summary>
    public async Task<ActivationResult> RollbackAsync(string personaId, int number, string actor, CancellationToken cancellationToken)
    {
        await _activation.WaitAsync(cancellationToken);
        try
        {
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            var version = await db.PersonaVersions.FirstOrDefaultAsync(v => v.PersonaId == personaId && v.Number == number, cancellationToken)
                ?? throw new KeyNotFoundException($"Persona '{personaId}' has no version {number}.");
            if (version.Status == PersonaVersionStatus.Active)
                return new ActivationResult([], version.Number);
            if (version.Status == PersonaVersionStatus.Draft)
                throw new InvalidOperationException($"Version {number} is the draft; activate it instead.");
            return await ActivateAsync(db, version, actor, "persona.rollback", cancellationToken);
        }
        finally
        {
            _activation.Release();
        }
    }

    /// <summary>
    /// Serves each persona's active version where this node serves something else: at start-up a version activated
    /// in the console instead of the packs folder's copy, and later a version activated or rolled back on another
    /// node sharing the store. Only the versions' hashes are read unless one changed.
    /// </summary>
    public Task<PersonaRefresh> RefreshAsync(CancellationToken cancellationToken) => RefreshAsync(keepUnrecorded: false, cancellationToken);

    /// <summary>
    /// <see cref="RefreshAsync"/> for a process that serves turns without recording the packs folder in the store
    /// (<c>chatplatform chat</c>, <c>chatplatform packs eval</c>). A pack whose folder content no version holds is an
    /// edit that the next server start records as the active version, so it is served as the folder has it.
    /// </summary>
    public Task<PersonaRefresh> RestoreAsync(CancellationToken cancellationToken) => RefreshAsync(keepUnrecorded: true, cancellationToken);

    private async Task<PersonaRefresh> RefreshAsync(bool keepUnrecorded, CancellationToken cancellationToken)
    {
        await _activation.WaitAsync(cancellationToken);
        try
        {
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            var active = await db.PersonaVersions.AsNoTracking().Where(v => v.Status == PersonaVersionStatus.Active)
                .Select(v => new { v.Id, v.PersonaId, v.ContentHash }).ToListAsync(cancellationToken);
            var unrecorded = keepUnrecorded ? await UnrecordedAsync(db, cancellationToken) : [];
            var replaced = new List<string>();
            var notLoaded = new List<string>();
            foreach (var version in active)
            {
                if (unrecorded.Contains(version.PersonaId) || ServedHash(version.PersonaId) == version.ContentHash)
                    continue;
                var record = await db.PersonaVersions.AsNoTracking().FirstOrDefaultAsync(v => v.Id == version.Id, cancellationToken);
                // A version that no longer loads (an adapter file missing on this node) is not retried at every check.
                _served[version.PersonaId] = version.ContentHash;
                if (record is null || WriteVersion(record).Pack is not { } pack || pack.Id != record.PersonaId)
                {
                    notLoaded.Add(version.PersonaId);
                    continue;
                }
                catalog.Replace(pack);
                replaced.Add(version.PersonaId);
            }
            return new PersonaRefresh(replaced, notLoaded);
        }
        finally
        {
            _activation.Release();
        }
    }

    /// <summary>The personas this node serves with content that no version in the store holds.</summary>
    private async Task<HashSet<string>> UnrecordedAsync(ChatDbContext db, CancellationToken cancellationToken)
    {
        var served = catalog.All.Select(p => (p.Id, Hash: ServedHash(p.Id)!)).ToList();
        var hashes = served.Select(s => s.Hash).ToList();
        var recorded = await db.PersonaVersions.AsNoTracking().Where(v => hashes.Contains(v.ContentHash))
            .Select(v => new { v.PersonaId, v.ContentHash }).ToListAsync(cancellationToken);
        return [.. served.Where(s => !recorded.Any(r => r.PersonaId == s.Id && r.ContentHash == s.Hash)).Select(s => s.Id)];
    }

    /// <summary>The content hash of what this node serves for a persona; the packs folder's copy is hashed once.</summary>
    private string? ServedHash(string personaId)
    {
        if (_served.TryGetValue(personaId, out var hash)) return hash;
        if (catalog.Find(personaId) is not { } served) return null;
        return _served[personaId] = PackFiles.Hash(PersonaVersionSync.ReadContent(served.Directory));
    }

    private async Task<ActivationResult> ActivateAsync(ChatDbContext db, PersonaVersionRecord version, string actor, string action, CancellationToken cancellationToken)
    {
        var loaded = WriteVersion(version);
        if (loaded.Pack is null || loaded.Problems.Count > 0)
            return new ActivationResult(loaded.Problems, null);
        if (loaded.Pack.Id != version.PersonaId)
            return new ActivationResult([new PackProblem("persona.yaml", 0, $"the id is '{loaded.Pack.Id}'; this persona is '{version.PersonaId}'")], null);

        var now = time.GetUtcNow();
        var previous = await db.PersonaVersions.Where(v => v.PersonaId == version.PersonaId && v.Status == PersonaVersionStatus.Active).ToListAsync(cancellationToken);
        foreach (var old in previous)
        {
            old.Status = PersonaVersionStatus.Retired;
            old.RetiredAt = now;
        }
        version.Status = PersonaVersionStatus.Active;
        version.ActivatedAt = now;
        version.RetiredAt = null;
        var persona = await db.Personas.FirstAsync(p => p.Id == version.PersonaId, cancellationToken);
        persona.DisplayName = loaded.Pack.Name;
        persona.UpdatedAt = now;
        db.AuditLog.Add(Audit(actor, action, version.PersonaId, new
        {
            version = version.Number, packVersion = loaded.Pack.Version, sha256 = version.ContentHash,
            retired = previous.Select(p => p.Number).ToArray(),
        }));
        await db.SaveChangesAsync(cancellationToken);
        catalog.Replace(loaded.Pack);
        _served[version.PersonaId] = version.ContentHash;
        return new ActivationResult([], version.Number);
    }

    /// <summary>Writes a version out as a pack folder (once; the folder is reused) and loads it.</summary>
    private PackLoadResult WriteVersion(PersonaVersionRecord version) => WriteOnce(
        Path.Combine(VersionsDirectory, version.PersonaId, "v" + version.Number.ToString(CultureInfo.InvariantCulture) + "-" + version.ContentHash[..12]),
        version.PersonaId, PackFiles.Parse(version.Content));

    /// <summary>
    /// Writes <paramref name="files"/> as a pack folder under <paramref name="folder"/> unless it is there already, and
    /// loads it. The folder appears whole: written beside it, then moved in; a writer that loses the race drops its copy.
    /// </summary>
    private PackLoadResult WriteOnce(string folder, string personaId, IReadOnlyDictionary<string, string> files)
    {
        var packDirectory = Path.Combine(folder, "personas", personaId);
        if (!Directory.Exists(packDirectory))
        {
            var staging = folder + ".tmp-" + Path.GetRandomFileName();
            PackFiles.Write(files, Path.Combine(staging, "personas", personaId), BinarySources(personaId));
            try
            {
                Directory.Move(staging, folder);
            }
            catch (IOException) when (Directory.Exists(packDirectory))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
        return PackLoader.Load(packDirectory);
    }

    private IEnumerable<string> BinarySources(string personaId)
    {
        yield return UploadsDirectory(personaId);
        yield return Path.Combine(Path.GetFullPath(options.PersonasDirectory), personaId);
        if (catalog.Find(personaId) is { } served) yield return served.Directory;
    }

    /// <summary>Where a binary file of the persona (an adapter) lives now, or null.</summary>
    public string? FindBinary(string personaId, string relativePath)
    {
        if (PackFiles.PathProblem(relativePath) is not null) return null;
        return BinarySources(personaId).Select(d => Path.Combine(d, relativePath)).FirstOrDefault(File.Exists);
    }

    /// <summary>Scratch space beside the versions (imports being checked), made on first use.</summary>
    public string WorkDirectory()
    {
        var work = Path.Combine(VersionsDirectory, ".work");
        Directory.CreateDirectory(work);
        return work;
    }

    private async Task<PersonaVersionRecord> AddDraftAsync(ChatDbContext db, string personaId, string content, string actor, string note,
        List<PersonaVersionRecord> versions, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var draft = new PersonaVersionRecord
        {
            PersonaId = personaId, Number = versions.Count == 0 ? 1 : versions.Max(v => v.Number) + 1, Status = PersonaVersionStatus.Draft,
            Content = content, ContentHash = PackFiles.Hash(content), Author = actor, Note = note, CreatedAt = now,
        };
        db.PersonaVersions.Add(draft);
        db.AuditLog.Add(Audit(actor, "persona.draft.create", personaId, new { version = draft.Number }));
        await db.SaveChangesAsync(cancellationToken);
        return draft;
    }

    /// <summary>Adds a persona with a draft holding <paramref name="files"/> (import of a new pack).</summary>
    public async Task<PersonaVersionRecord> ReplaceDraftAsync(string personaId, string name, IReadOnlyDictionary<string, string> files, string actor, string note, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var now = time.GetUtcNow();
        if (!await db.Personas.AnyAsync(p => p.Id == personaId, cancellationToken))
            db.Personas.Add(new PersonaRecord { Id = personaId, DisplayName = name, CreatedAt = now, UpdatedAt = now });
        var versions = await db.PersonaVersions.Where(v => v.PersonaId == personaId).ToListAsync(cancellationToken);
        var content = PackFiles.Serialize(files);
        PersonaVersionRecord draft;
        if (versions.FirstOrDefault(v => v.Status == PersonaVersionStatus.Draft) is { } existing)
        {
            existing.Content = content;
            existing.ContentHash = PackFiles.Hash(content);
            existing.Author = actor;
            existing.Note = note;
            db.AuditLog.Add(Audit(actor, "persona.import", personaId, new { version = existing.Number, files = files.Count }));
            draft = existing;
            await db.SaveChangesAsync(cancellationToken);
        }
        else
        {
            await db.SaveChangesAsync(cancellationToken);
            draft = await AddDraftAsync(db, personaId, content, actor, note, versions, cancellationToken);
            db.AuditLog.Add(Audit(actor, "persona.import", personaId, new { version = draft.Number, files = files.Count }));
            await db.SaveChangesAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return draft;
    }

    /// <summary>Records a change to a persona made outside this class (an export, an adapter upload).</summary>
    public Task WriteAuditAsync(string actor, string action, string personaId, object details, CancellationToken cancellationToken) =>
        WriteAuditCoreAsync(Audit(actor, action, personaId, details), cancellationToken);

    private async Task WriteAuditCoreAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        db.AuditLog.Add(entry);
        await db.SaveChangesAsync(cancellationToken);
    }

    private static string[] ChangedFiles(IReadOnlyDictionary<string, string> before, IReadOnlyDictionary<string, string> after) =>
        [.. before.Keys.Union(after.Keys).Where(k => before.GetValueOrDefault(k) != after.GetValueOrDefault(k)).Order(StringComparer.Ordinal)];

    private AuditEntry Audit(string actor, string action, string personaId, object details) => new()
    {
        At = time.GetUtcNow(), Actor = actor, Action = action, Target = "persona:" + personaId, Details = JsonSerializer.Serialize(details),
    };
}
