using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ChatPlatform.Core.Personas;

namespace ChatPlatform.Data.Personas;

/// <summary>
/// A pack version's text files (relative path to content), the form <see cref="PersonaVersionRecord.Content"/>
/// stores, and how to turn them back into a pack folder the <see cref="PackLoader"/> can read.
/// </summary>
public static class PackFiles
{
    public static SortedDictionary<string, string> Parse(string content) =>
        new(JsonSerializer.Deserialize<Dictionary<string, string>>(content) ?? [], StringComparer.Ordinal);

    public static string Serialize(IReadOnlyDictionary<string, string> files) =>
        JsonSerializer.Serialize(new SortedDictionary<string, string>(files.ToDictionary(), StringComparer.Ordinal));

    public static string Hash(string content) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));

    /// <summary>A one-line reason why <paramref name="path"/> cannot be a file of a pack, or null.</summary>
    public static string? PathProblem(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) return "a file has an empty name";
        if (path.Length > 200) return $"the file name '{path[..50]}…' is too long";
        if (path.Contains('\\', StringComparison.Ordinal) || path.StartsWith('/') || Path.IsPathRooted(path) || path.Contains(':', StringComparison.Ordinal))
            return $"'{path}' must be a relative path with '/' separators";
        if (path.Split('/').Any(part => part is "" or "." or ".."))
            return $"'{path}' leaves the pack folder or has an empty part";
        if (path.Any(char.IsControl)) return $"'{path}' contains control characters";
        return null;
    }

    /// <summary>
    /// Writes the files into <paramref name="packDirectory"/>, then copies files that versions do not store (adapters
    /// and other binaries) from <paramref name="binarySources"/>, the first folder that has a file winning.
    /// </summary>
    public static void Write(IReadOnlyDictionary<string, string> files, string packDirectory, IEnumerable<string> binarySources)
    {
        Directory.CreateDirectory(packDirectory);
        var root = Path.GetFullPath(packDirectory) + Path.DirectorySeparatorChar;
        foreach (var (relative, text) in files)
        {
            if (PathProblem(relative) is { } problem) throw new InvalidDataException(problem);
            var full = Path.GetFullPath(Path.Combine(root, relative));
            if (!full.StartsWith(root, StringComparison.Ordinal)) throw new InvalidDataException($"'{relative}' leaves the pack folder");
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, text);
        }
        foreach (var binarySource in binarySources.Where(Directory.Exists))
        foreach (var file in Directory.EnumerateFiles(binarySource, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(binarySource, file).Replace('\\', '/');
            if (files.ContainsKey(relative) || new FileInfo(file).LinkTarget is not null) continue;
            var target = Path.Combine(root, relative);
            if (File.Exists(target)) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>Writes the files to a scratch folder and runs the pack validator on them.</summary>
    public static PackLoadResult Check(IReadOnlyDictionary<string, string> files, string personaId, string workDirectory, IEnumerable<string> binarySources)
    {
        // <work>/<random>/personas/<id>: problems then read "personas/<id>/persona.yaml:12: …".
        var scratch = Path.Combine(workDirectory, Path.GetRandomFileName());
        try
        {
            var packDirectory = Path.Combine(scratch, "personas", personaId);
            Write(files, packDirectory, binarySources);
            return PackLoader.Load(packDirectory);
        }
        finally
        {
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }
}
