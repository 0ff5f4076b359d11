namespace ChatPlatform.Core.Personas;

/// <summary>One thing wrong with a pack, located as <c>path:line</c> (line 0 when the file as a whole is at fault).</summary>
public sealed record PackProblem(string Path, int Line, string Message)
{
    public override string ToString() => $"{Path}:{Line}: {Message}";
}

/// <summary>Thrown when packs cannot be loaded; carries every problem found.</summary>
public sealed class PackLoadException(IReadOnlyList<PackProblem> problems)
    : Exception("Persona packs are invalid:" + Environment.NewLine + string.Join(Environment.NewLine, problems))
{
    public IReadOnlyList<PackProblem> Problems { get; } = problems;
}
