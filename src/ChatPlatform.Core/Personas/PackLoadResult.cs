namespace ChatPlatform.Core.Personas;

/// <summary>The outcome of loading one pack: the pack when it is valid, and every problem found.</summary>
public sealed record PackLoadResult(PersonaPack? Pack, IReadOnlyList<PackProblem> Problems)
{
    public bool IsValid => Pack is not null && Problems.Count == 0;
}

/// <summary>The outcome of loading a personas folder: the valid packs and the problems of all packs.</summary>
public sealed record PackSetLoadResult(IReadOnlyList<PersonaPack> Packs, IReadOnlyList<PackProblem> Problems);
