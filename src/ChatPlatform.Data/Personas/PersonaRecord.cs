namespace ChatPlatform.Data.Personas;

/// <summary>A persona known to the platform; its content lives in <see cref="PersonaVersionRecord"/>s.</summary>
public sealed class PersonaRecord
{
    /// <summary>The pack id, e.g. <c>mindchat</c>.</summary>
    public required string Id { get; set; }
    public required string DisplayName { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public List<PersonaVersionRecord> Versions { get; set; } = [];
}

/// <summary>One version of a persona pack with its full content and who made the change.</summary>
public sealed class PersonaVersionRecord
{
    public long Id { get; set; }
    public required string PersonaId { get; set; }
    /// <summary>1, 2, 3… within the persona.</summary>
    public int Number { get; set; }
    /// <summary><see cref="PersonaVersionStatus.Draft"/>, <see cref="PersonaVersionStatus.Active"/> or <see cref="PersonaVersionStatus.Retired"/>.</summary>
    public string Status { get; set; } = PersonaVersionStatus.Draft;
    /// <summary>The pack's files as JSON: relative path to text.</summary>
    public required string Content { get; set; }
    /// <summary>SHA-256 of <see cref="Content"/>, hex.</summary>
    public required string ContentHash { get; set; }
    public required string Author { get; set; }
    public string? Note { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? ActivatedAt { get; set; }
    public DateTimeOffset? RetiredAt { get; set; }
}

public static class PersonaVersionStatus
{
    public const string Draft = "draft";
    public const string Active = "active";
    public const string Retired = "retired";
}
