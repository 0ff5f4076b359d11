namespace ChatPlatform.Core.Personas;

/// <summary>The persona packs a running platform can serve.</summary>
public interface IPersonaCatalog
{
    /// <summary>The pack with this id, or null when there is none (or it failed validation).</summary>
    PersonaPack? Find(string id);

    /// <summary>Every valid pack, ordered by id.</summary>
    IReadOnlyList<PersonaPack> All { get; }
}

/// <summary>
/// A catalog whose packs can be swapped while the platform runs: what activating, rolling back and restoring persona
/// versions need. Readers keep <see cref="IPersonaCatalog"/>.
/// </summary>
public interface IWritablePersonaCatalog : IPersonaCatalog
{
    /// <summary>Serves <paramref name="pack"/> in place of the pack with its id (or adds it) from the next lookup on.</summary>
    void Replace(PersonaPack pack);
}

public static class PersonaCatalogExtensions
{
    /// <summary>The pack with this id when its <c>channels:</c> list offers it on <paramref name="channel"/>; otherwise null, as for an unknown id.</summary>
    public static PersonaPack? FindOn(this IPersonaCatalog catalog, string? id, string? channel) =>
        id is null ? null : catalog.Find(id) is { } pack && pack.OfferedOn(channel) ? pack : null;

    /// <summary>The packs offered on <paramref name="channel"/>, ordered by id.</summary>
    public static IReadOnlyList<PersonaPack> OfferedOn(this IPersonaCatalog catalog, string? channel) =>
        catalog.All.Where(p => p.OfferedOn(channel)).ToList();

    /// <summary>The ids offered on <paramref name="channel"/>, for an "unknown persona" answer.</summary>
    public static string AvailableOn(this IPersonaCatalog catalog, string? channel) =>
        string.Join(", ", catalog.OfferedOn(channel).Select(p => p.Id));
}
