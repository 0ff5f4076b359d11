namespace ChatPlatform.Testing;

/// <summary>Locations in the repository, found by walking up from the test binaries to ChatPlatform.sln.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The repository root: the nearest folder above the test binaries that holds ChatPlatform.sln.</summary>
    public static string Root => s_root.Value;

    /// <summary>The repository's personas folder (the reference packs).</summary>
    public static string Personas => Path.Combine(Root, "personas");

    /// <summary>The repository's safety folder (lexicons, examples, crisis replies).</summary>
    public static string Safety => Path.Combine(Root, "safety");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ChatPlatform.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"ChatPlatform.sln not found in any folder above {AppContext.BaseDirectory}.");
    }
}
