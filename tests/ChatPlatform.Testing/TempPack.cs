namespace ChatPlatform.Testing;

/// <summary>
/// A throw-away personas folder (<c>&lt;temp&gt;/personas/</c>) holding a copy of a reference pack, for tests
/// that break one thing and check what the loader says. Deleted on dispose.
/// </summary>
public sealed class TempPack : IDisposable
{
    private TempPack(string root, string id)
    {
        Root = root;
        Id = id;
    }

    /// <summary>The temporary folder above <see cref="PersonasDirectory"/>; problem paths are relative to it.</summary>
    public string Root { get; }

    /// <summary>The folder name of the main pack (the reference pack's id).</summary>
    public string Id { get; }

    public string PersonasDirectory => Path.Combine(Root, "personas");

    /// <summary>The main pack's folder.</summary>
    public string Directory => Path.Combine(PersonasDirectory, Id);

    /// <summary>Copies the reference pack <paramref name="id"/> from the repository into a new temporary personas folder.</summary>
    public static TempPack CopyOf(string id)
    {
        var root = Path.Combine(Path.GetTempPath(), "chatplatform-tests", Guid.NewGuid().ToString("n"));
        var pack = new TempPack(root, id);
        CopyDirectory(Path.Combine(RepoPaths.Personas, id), pack.Directory);
        return pack;
    }

    /// <summary>Copies another reference pack into the same personas folder, under <paramref name="folderName"/>.</summary>
    public string AddCopyOf(string id, string? folderName = null)
    {
        var target = Path.Combine(PersonasDirectory, folderName ?? id);
        CopyDirectory(Path.Combine(RepoPaths.Personas, id), target);
        return target;
    }

    /// <summary>Full path of a file in the main pack.</summary>
    public string PathOf(string relativePath) => Path.Combine(Directory, relativePath);

    /// <summary>The path a loader problem shows for a file of the main pack, e.g. <c>personas/mindchat/persona.yaml</c>.</summary>
    public string ProblemPath(string relativePath) => Path.Combine("personas", Id, relativePath);

    public string Read(string relativePath) => File.ReadAllText(PathOf(relativePath));

    public void Write(string relativePath, string content)
    {
        var path = PathOf(relativePath);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    public void Write(string relativePath, byte[] content)
    {
        var path = PathOf(relativePath);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
    }

    public void Delete(string relativePath) => File.Delete(PathOf(relativePath));

    /// <summary>
    /// Replaces the only occurrence of <paramref name="oldText"/> in a file and returns the 1-based line where the
    /// replacement starts. Throws when the text is missing or not unique, so a test never edits the wrong place.
    /// </summary>
    public int Replace(string relativePath, string oldText, string newText)
    {
        var content = Read(relativePath);
        var index = content.IndexOf(oldText, StringComparison.Ordinal);
        if (index < 0)
            throw new InvalidOperationException($"'{oldText}' not found in {relativePath}.");
        if (content.IndexOf(oldText, index + oldText.Length, StringComparison.Ordinal) >= 0)
            throw new InvalidOperationException($"'{oldText}' occurs more than once in {relativePath}.");
        Write(relativePath, string.Concat(content.AsSpan(0, index), newText, content.AsSpan(index + oldText.Length)));
        return LineAt(content, index);
    }

    /// <summary>
    /// Replaces the only line that starts with <paramref name="lineStart"/> (deleting it when
    /// <paramref name="newLine"/> is null) and returns its 1-based line number.
    /// </summary>
    public int EditLine(string relativePath, string lineStart, string? newLine)
    {
        var lines = Read(relativePath).Split('\n').ToList();
        var matches = lines.Select((text, index) => (text, index)).Where(l => l.text.StartsWith(lineStart, StringComparison.Ordinal)).ToList();
        if (matches.Count != 1)
            throw new InvalidOperationException($"Expected one line starting with '{lineStart}' in {relativePath}, found {matches.Count}.");
        var index = matches[0].index;
        if (newLine is null) lines.RemoveAt(index);
        else lines[index] = newLine;
        Write(relativePath, string.Join('\n', lines));
        return index + 1;
    }

    /// <summary>The 1-based line of the only occurrence of <paramref name="text"/> in a file.</summary>
    public int LineOf(string relativePath, string text)
    {
        var content = Read(relativePath);
        var index = content.IndexOf(text, StringComparison.Ordinal);
        if (index < 0)
            throw new InvalidOperationException($"'{text}' not found in {relativePath}.");
        if (content.IndexOf(text, index + text.Length, StringComparison.Ordinal) >= 0)
            throw new InvalidOperationException($"'{text}' occurs more than once in {relativePath}.");
        return LineAt(content, index);
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private static int LineAt(string content, int index) => content.AsSpan(0, index).Count('\n') + 1;

    private static void CopyDirectory(string source, string target)
    {
        if (!System.IO.Directory.Exists(source))
            throw new DirectoryNotFoundException($"Reference pack not found: {source}");
        System.IO.Directory.CreateDirectory(target);
        foreach (var file in System.IO.Directory.EnumerateFiles(source))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        foreach (var dir in System.IO.Directory.EnumerateDirectories(source))
            CopyDirectory(dir, Path.Combine(target, Path.GetFileName(dir)));
    }
}
