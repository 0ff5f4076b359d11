using System.IO.Compression;
using ChatPlatform.Core.Personas;
using ChatPlatform.Data.Personas;

namespace ChatPlatform.Admin.Personas;

/// <summary>The outcome of an import: the draft it made, or why nothing was imported.</summary>
public sealed record ImportResult(string? PersonaId, int? DraftVersion, IReadOnlyList<string> Problems)
{
    public bool Succeeded => DraftVersion is not null;
}

/// <summary>
/// Export and import of a persona version as a zip of its pack folder. Import checks everything before it stores
/// anything: entry names that would leave the folder (zip slip), oversize files, unknown file types and packs the
/// validator rejects are refused with a message, and nothing is kept.
/// </summary>
public sealed class PersonaArchive(PersonaVersions versions)
{
    public const long MaxArchiveBytes = 64L * 1024 * 1024;
    public const long MaxTextFileBytes = 1_000_000;
    public const long MaxAdapterBytes = 64L * 1024 * 1024;
    public const int MaxEntries = 500;

    private static readonly HashSet<string> s_textExtensions = new(StringComparer.OrdinalIgnoreCase) { ".yaml", ".yml", ".md", ".txt", ".json", ".jsonl" };

    /// <summary>The version's files, plus the adapters it names, as a zip.</summary>
    public async Task<byte[]> ExportAsync(string personaId, int number, CancellationToken cancellationToken)
    {
        var version = await versions.FindAsync(personaId, number, cancellationToken)
            ?? throw new KeyNotFoundException($"Persona '{personaId}' has no version {number}.");
        var files = PackFiles.Parse(version.Content);
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (path, text) in files)
            {
                var entry = zip.CreateEntry(path, CompressionLevel.Optimal);
                await using var stream = await entry.OpenAsync(cancellationToken);
                await using var writer = new StreamWriter(stream);
                await writer.WriteAsync(text);
            }
            foreach (var adapter in PersonaForm.From(files).Adapters)
            {
                var source = versions.FindBinary(personaId, adapter.Path);
                if (source is null) continue;
                var entry = zip.CreateEntry(adapter.Path, CompressionLevel.NoCompression);
                await using var stream = await entry.OpenAsync(cancellationToken);
                await using var file = File.OpenRead(source);
                await file.CopyToAsync(stream, cancellationToken);
            }
        }
        return buffer.ToArray();
    }

    /// <summary>Reads a pack zip and, when it is a valid pack, stores it as the draft of the persona it names.</summary>
    public async Task<ImportResult> ImportAsync(Stream archive, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(archive);
        var staging = Path.Combine(versions.WorkDirectory(), "import-" + Path.GetRandomFileName());
        try
        {
            using var buffer = new MemoryStream();
            await CopyLimitedAsync(archive, buffer, MaxArchiveBytes, cancellationToken);
            buffer.Position = 0;
            ZipArchive zip;
            try
            {
                zip = new ZipArchive(buffer, ZipArchiveMode.Read);
            }
            catch (InvalidDataException)
            {
                return Failed("The file is not a zip archive.");
            }
            using (zip)
            {
                var (files, problems) = await ReadEntriesAsync(zip, staging, cancellationToken);
                if (problems.Count > 0) return new ImportResult(null, null, problems);
                if (!files.TryGetValue(PackLoader.ManifestFileName, out var manifest))
                    return Failed($"The zip has no {PackLoader.ManifestFileName} at its top (or in one top folder).");
                string? id;
                try
                {
                    id = PackYaml.Parse(manifest).Get("id");
                }
                catch (InvalidDataException e)
                {
                    return Failed($"{PackLoader.ManifestFileName}: {e.Message}");
                }
                if (string.IsNullOrWhiteSpace(id) || PackFiles.PathProblem(id) is not null || id.Contains('/', StringComparison.Ordinal))
                    return Failed($"{PackLoader.ManifestFileName} has no valid 'id'.");

                var check = PackFiles.Check(files, id, versions.WorkDirectory(), [staging]);
                if (check.Problems.Count > 0 || check.Pack is null)
                    return new ImportResult(id, null, [.. check.Problems.Select(p => p.ToString())]);

                if (Directory.Exists(staging))
                {
                    var uploads = versions.UploadsDirectory(id);
                    foreach (var file in Directory.EnumerateFiles(staging, "*", SearchOption.AllDirectories))
                    {
                        var target = Path.Combine(uploads, Path.GetRelativePath(staging, file));
                        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                        File.Copy(file, target, overwrite: true);
                    }
                }
                var draft = await versions.ReplaceDraftAsync(id, check.Pack.Name, files, actor, "imported from a zip", cancellationToken);
                return new ImportResult(id, draft.Number, []);
            }
        }
        catch (InvalidDataException e)
        {
            return Failed(e.Message);
        }
        finally
        {
            try { if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task<(SortedDictionary<string, string> Files, List<string> Problems)> ReadEntriesAsync(ZipArchive zip, string staging, CancellationToken cancellationToken)
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var problems = new List<string>();
        var entries = zip.Entries.Where(e => !e.FullName.EndsWith('/')).ToList();
        if (entries.Count > MaxEntries) return (files, [$"The zip has {entries.Count} files; at most {MaxEntries} are accepted."]);

        // A zip made from the pack folder itself has one top folder: accept both shapes.
        var prefix = "";
        var tops = entries.Select(e => e.FullName.Split('/')[0]).Distinct(StringComparer.Ordinal).ToList();
        if (tops.Count == 1 && entries.All(e => e.FullName.Contains('/', StringComparison.Ordinal)))
            prefix = tops[0] + "/";

        foreach (var entry in entries)
        {
            var name = entry.FullName;
            if (PackFiles.PathProblem(name) is { } pathProblem)
            {
                problems.Add($"Refused entry: {pathProblem}.");
                continue;
            }
            var relative = name[prefix.Length..];
            var extension = Path.GetExtension(relative);
            if (s_textExtensions.Contains(extension))
            {
                if (entry.Length > MaxTextFileBytes)
                {
                    problems.Add($"'{relative}' is {entry.Length:N0} bytes; text files may have at most {MaxTextFileBytes:N0}.");
                    continue;
                }
                await using var stream = await entry.OpenAsync(cancellationToken);
                using var limited = new MemoryStream();
                await CopyLimitedAsync(stream, limited, MaxTextFileBytes, cancellationToken);
                files[relative] = System.Text.Encoding.UTF8.GetString(limited.ToArray());
            }
            else if (extension.Equals(".gguf", StringComparison.OrdinalIgnoreCase) && relative.StartsWith("adapters/", StringComparison.Ordinal))
            {
                if (entry.Length > MaxAdapterBytes)
                {
                    problems.Add($"'{relative}' is {entry.Length:N0} bytes; adapters may have at most {MaxAdapterBytes:N0}.");
                    continue;
                }
                var target = Path.Combine(staging, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                await using var stream = await entry.OpenAsync(cancellationToken);
                await using var file = File.Create(target);
                await CopyLimitedAsync(stream, file, MaxAdapterBytes, cancellationToken);
            }
            else
            {
                problems.Add($"'{relative}' is not a pack file (text files {string.Join(", ", s_textExtensions.Order(StringComparer.Ordinal))}, or adapters/*.gguf).");
            }
        }
        return (files, problems);
    }

    /// <summary>Copies at most <paramref name="limit"/> bytes; a longer stream (whatever its header claims) is refused.</summary>
    private static async Task CopyLimitedAsync(Stream source, Stream target, long limit, CancellationToken cancellationToken)
    {
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
        {
            total += read;
            if (total > limit) throw new InvalidDataException($"A file in the upload is larger than {limit:N0} bytes.");
            await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }
    }

    private static ImportResult Failed(string problem) => new(null, null, [problem]);
}
