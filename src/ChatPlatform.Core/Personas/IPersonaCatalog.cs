namespace ChatPlatform.Core.Personas;

/// <summary>The persona packs a running platform can serve.</summary>
public interface IPersonaCatalog
{
    /// <summary>The pack with this id, or null when there is none (or it failed validation).</summary>
    PersonaPack? Find(string id);

    /// <summary>Every valid pack, ordered by id.</summary>
    IReadOnlyList<PersonaPack> All { get; }
}
