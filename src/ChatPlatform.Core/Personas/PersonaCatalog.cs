namespace ChatPlatform.Core.Personas;

/// <summary>
/// The valid packs of a personas folder, plus the problems of the ones left out. Invalid packs are never served,
/// so one broken pack does not take the others down; callers that must not start with any broken pack use
/// <see cref="ThrowIfInvalid"/>.
/// </summary>
public sealed class PersonaCatalog : IPersonaCatalog
{
    private readonly Dictionary<string, PersonaPack> _byId;

    /// <exception cref="ArgumentException">Two packs share an id.</exception>
    public PersonaCatalog(IEnumerable<PersonaPack> packs, IEnumerable<PackProblem>? problems = null)
    {
        ArgumentNullException.ThrowIfNull(packs);
        _byId = new Dictionary<string, PersonaPack>(StringComparer.Ordinal);
        foreach (var pack in packs)
        {
            if (!_byId.TryAdd(pack.Id, pack))
                throw new ArgumentException($"Two packs share the id '{pack.Id}'.", nameof(packs));
        }
        All = [.. _byId.Values.OrderBy(p => p.Id, StringComparer.Ordinal)];
        Problems = [.. problems ?? []];
    }

    /// <summary>Loads and validates every pack in a personas folder (see <see cref="PackLoader.LoadAll"/>).</summary>
    public static PersonaCatalog Load(string personasDirectory)
    {
        var result = PackLoader.LoadAll(personasDirectory);
        return new PersonaCatalog(result.Packs, result.Problems);
    }

    public IReadOnlyList<PersonaPack> All { get; }

    /// <summary>Problems of the packs that were left out (and of the folder itself).</summary>
    public IReadOnlyList<PackProblem> Problems { get; }

    public bool HasProblems => Problems.Count > 0;

    public PersonaPack? Find(string id) =>
        string.IsNullOrEmpty(id) ? null : _byId.GetValueOrDefault(id);

    /// <exception cref="PackLoadException">Any pack had a problem.</exception>
    public void ThrowIfInvalid()
    {
        if (HasProblems) throw new PackLoadException(Problems);
    }
}
