namespace ChatPlatform.Core.Personas;

/// <summary>
/// The valid packs of a personas folder, plus the problems of the ones left out. Invalid packs are never served,
/// so one broken pack does not take the others down; callers that must not start with any broken pack use
/// <see cref="ThrowIfInvalid"/>. A pack can be replaced while the platform runs (<see cref="Replace"/>): every
/// caller sees the old or the new version, never a mix, from the next lookup on.
/// </summary>
public sealed class PersonaCatalog : IWritablePersonaCatalog
{
    private volatile Snapshot _current;
    private readonly Lock _writeLock = new();

    /// <exception cref="ArgumentException">Two packs share an id.</exception>
    public PersonaCatalog(IEnumerable<PersonaPack> packs, IEnumerable<PackProblem>? problems = null)
    {
        ArgumentNullException.ThrowIfNull(packs);
        var byId = new Dictionary<string, PersonaPack>(StringComparer.Ordinal);
        foreach (var pack in packs)
        {
            if (!byId.TryAdd(pack.Id, pack))
                throw new ArgumentException($"Two packs share the id '{pack.Id}'.", nameof(packs));
        }
        _current = new Snapshot(byId);
        Problems = [.. problems ?? []];
    }

    /// <summary>Loads and validates every pack in a personas folder (see <see cref="PackLoader.LoadAll"/>).</summary>
    public static PersonaCatalog Load(string personasDirectory)
    {
        var result = PackLoader.LoadAll(personasDirectory);
        return new PersonaCatalog(result.Packs, result.Problems);
    }

    public IReadOnlyList<PersonaPack> All => _current.All;

    /// <summary>Problems of the packs that were left out (and of the folder itself) when the catalog was loaded.</summary>
    public IReadOnlyList<PackProblem> Problems { get; }

    public bool HasProblems => Problems.Count > 0;

    public PersonaPack? Find(string id) =>
        string.IsNullOrEmpty(id) ? null : _current.ById.GetValueOrDefault(id);

    /// <summary>Serves <paramref name="pack"/> in place of the pack with its id (or adds it) from now on.</summary>
    public void Replace(PersonaPack pack)
    {
        ArgumentNullException.ThrowIfNull(pack);
        lock (_writeLock)
        {
            var byId = new Dictionary<string, PersonaPack>(_current.ById, StringComparer.Ordinal) { [pack.Id] = pack };
            _current = new Snapshot(byId);
        }
    }

    /// <exception cref="PackLoadException">Any pack had a problem.</exception>
    public void ThrowIfInvalid()
    {
        if (HasProblems) throw new PackLoadException(Problems);
    }

    private sealed class Snapshot(Dictionary<string, PersonaPack> byId)
    {
        public Dictionary<string, PersonaPack> ById { get; } = byId;
        public IReadOnlyList<PersonaPack> All { get; } = [.. byId.Values.OrderBy(p => p.Id, StringComparer.Ordinal)];
    }
}
