namespace ChatPlatform.Core.Personas;

/// <summary>Path helpers for keeping pack files inside their pack folder.</summary>
internal static class PackPaths
{
    private const int MaxLinkHops = 40;

    private static StringComparison Comparison =>
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>True when <paramref name="path"/> is <paramref name="directory"/> or lies below it (both full paths).</summary>
    public static bool IsInside(string path, string directory)
    {
        var dir = Path.TrimEndingDirectorySeparator(directory);
        var p = Path.TrimEndingDirectorySeparator(path);
        return string.Equals(p, dir, Comparison)
            || p.StartsWith(dir + Path.DirectorySeparatorChar, Comparison);
    }

    /// <summary>
    /// The physical location of a full path: every symbolic link along it is followed (parts that do not exist
    /// are kept as written). Returns null when links loop.
    /// </summary>
    public static string? RealPath(string fullPath) =>
        RealPath(Path.TrimEndingDirectorySeparator(Path.GetFullPath(fullPath)), 0);

    private static string? RealPath(string fullPath, int hops)
    {
        var parent = Path.GetDirectoryName(fullPath);
        if (parent is null) return fullPath; // the root
        var realParent = RealPath(parent, hops);
        if (realParent is null) return null;

        var candidate = Path.Combine(realParent, Path.GetFileName(fullPath));
        var target = new FileInfo(candidate).LinkTarget;
        if (target is null) return candidate;
        if (hops >= MaxLinkHops) return null;
        return RealPath(Path.GetFullPath(target, realParent), hops + 1);
    }

    /// <summary>A path for messages: relative to <paramref name="displayBase"/> when that is set, otherwise as is.</summary>
    public static string Display(string fullPath, string? displayBase) =>
        displayBase is null ? fullPath : Path.GetRelativePath(displayBase, fullPath);
}
