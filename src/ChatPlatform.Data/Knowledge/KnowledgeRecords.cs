namespace ChatPlatform.Data.Knowledge;

/// <summary>One document in a persona's knowledge: an ingested file, identified by its source name within the persona.</summary>
public sealed class KnowledgeDocumentRecord
{
    public long Id { get; set; }
    public required string PersonaId { get; set; }
    /// <summary>The file's name (or its path inside a pack's knowledge/ folder); re-adding the same source replaces it.</summary>
    public required string Source { get; set; }
    public required string Title { get; set; }
    /// <summary>markdown, text, html or pdf.</summary>
    public required string Format { get; set; }
    /// <summary>SHA-256 of the file's bytes, hex: an unchanged file is not imported again.</summary>
    public required string ContentHash { get; set; }
    /// <summary>Where the document came from: <see cref="KnowledgeOrigins.Pack"/> or <see cref="KnowledgeOrigins.Upload"/>.</summary>
    public string Origin { get; set; } = KnowledgeOrigins.Upload;
    public string? Link { get; set; }
    public long Bytes { get; set; }
    public int Pages { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public List<KnowledgeChunkRecord> Chunks { get; set; } = [];
}

/// <summary>A passage of a document, cut along its structure.</summary>
public sealed class KnowledgeChunkRecord
{
    public long Id { get; set; }
    public long DocumentId { get; set; }
    /// <summary>Stable id from the source and section path, e.g. <c>guide.en.md#Applying/Documents</c>.</summary>
    public required string Key { get; set; }
    public int Ordinal { get; set; }
    /// <summary>Section path, headings joined with " / "; empty for text before the first heading.</summary>
    public required string Section { get; set; }
    /// <summary>1-based page for paged formats (PDF).</summary>
    public int? Page { get; set; }
    public required string Text { get; set; }
}

/// <summary>An operator-approved answer to a question, sent as is when a user asks the same thing.</summary>
public sealed class CuratedAnswerRecord
{
    public long Id { get; set; }
    public required string PersonaId { get; set; }
    /// <summary>Stable id within the persona (from the CSV's id column, or derived from the question).</summary>
    public required string Key { get; set; }
    public required string Question { get; set; }
    public required string Answer { get; set; }
    public string? Locale { get; set; }
    public required string Author { get; set; }
    /// <summary>How often the answer was sent.</summary>
    public long Hits { get; set; }
    public DateTimeOffset? LastHitAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

public static class KnowledgeOrigins
{
    /// <summary>Shipped in the pack's knowledge/ folder; kept in step with the folder at start-up.</summary>
    public const string Pack = "pack";
    /// <summary>Added by an operator (CLI or console).</summary>
    public const string Upload = "upload";
}
