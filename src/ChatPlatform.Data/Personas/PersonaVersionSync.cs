using System.Text.Json;
using ChatPlatform.Core.Personas;
using ChatPlatform.Data.Audit;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Data.Personas;

/// <summary>
/// Records the persona packs the server loaded as persona versions: a pack whose content matches no recorded version
/// becomes a new active version (the old one is retired), with an audit entry. Content seen before adds nothing.
/// </summary>
public sealed class PersonaVersionSync(IDbContextFactory<ChatDbContext> contexts)
{
    /// <summary>Pack files kept as version content; models and adapters are referenced by the pack, not copied.</summary>
    private static readonly HashSet<string> s_textExtensions = new(StringComparer.OrdinalIgnoreCase) { ".yaml", ".yml", ".md", ".txt", ".json", ".jsonl" };

    private const long MaxFileBytes = 1_000_000;

    /// <summary>Returns the ids of the personas that got a new version.</summary>
    public async Task<IReadOnlyList<string>> SyncAsync(IEnumerable<PersonaPack> packs, string author, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(packs);
        var changed = new List<string>();
        foreach (var pack in packs)
        {
            var content = ReadContent(pack.Directory);
            var hash = PackFiles.Hash(content);
            try
            {
                if (await RecordAsync(pack, content, hash, author, cancellationToken))
                    changed.Add(pack.Id);
            }
            catch (DbUpdateException)
            {
                // Another node recorded the same change at the same moment.
            }
        }
        return changed;
    }

    private async Task<bool> RecordAsync(PersonaPack pack, string content, string hash, string author, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var now = DateTimeOffset.UtcNow;
        var persona = await db.Personas.FirstOrDefaultAsync(p => p.Id == pack.Id, cancellationToken);
        if (persona is null)
        {
            persona = new PersonaRecord { Id = pack.Id, DisplayName = pack.Name, CreatedAt = now, UpdatedAt = now };
            db.Personas.Add(persona);
        }
        var versions = await db.PersonaVersions.Where(v => v.PersonaId == pack.Id).ToListAsync(cancellationToken);
        var active = versions.FirstOrDefault(v => v.Status == PersonaVersionStatus.Active);
        // Folder content recorded before is not a change: a version activated in the admin console (or a rollback)
        // stays live across restarts until someone edits the folder itself.
        if (versions.Any(v => v.ContentHash == hash))
            return false;

        if (active is not null)
        {
            active.Status = PersonaVersionStatus.Retired;
            active.RetiredAt = now;
        }
        var number = versions.Count == 0 ? 1 : versions.Max(v => v.Number) + 1;
        db.PersonaVersions.Add(new PersonaVersionRecord
        {
            PersonaId = pack.Id, Number = number, Status = PersonaVersionStatus.Active, Content = content, ContentHash = hash,
            Author = author, Note = $"pack version {pack.Version}", CreatedAt = now, ActivatedAt = now,
        });
        persona.DisplayName = pack.Name;
        persona.UpdatedAt = now;
        db.AuditLog.Add(new AuditEntry
        {
            At = now, Actor = author, Action = "persona.version", Target = "persona:" + pack.Id,
            Details = JsonSerializer.Serialize(new { version = number, packVersion = pack.Version, sha256 = hash, retired = active?.Number }),
        });
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>The pack's text files as a JSON object of relative path to content, in path order.</summary>
    public static string ReadContent(string packDirectory)
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(packDirectory, "*", SearchOption.AllDirectories))
        {
            var info = new FileInfo(file);
            if (!s_textExtensions.Contains(info.Extension) || info.Length > MaxFileBytes) continue;
            files[Path.GetRelativePath(packDirectory, file).Replace('\\', '/')] = File.ReadAllText(file);
        }
        // The same form versions are stored in, so a folder and its stored version hash alike.
        return PackFiles.Serialize(files);
    }
}
