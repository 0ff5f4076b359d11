namespace ChatPlatform.Knowledge.Ingestion;

/// <summary>A document's text, cut into sections along its structure.</summary>
public sealed record ExtractedDocument(string Title, string Format, IReadOnlyList<DocumentSection> Sections, int Pages, string? Link = null);

/// <summary>A run of text under one heading path (outermost first), on one page for paged formats.</summary>
public sealed record DocumentSection(IReadOnlyList<string> Path, string Text, int? Page = null);

/// <summary>How far an import has got, for progress lines on large files.</summary>
public sealed record IngestProgress(string Source, string Stage, int Done, int Total);

/// <summary>A file that cannot be imported; the message is one line that names the file and the reason.</summary>
public sealed class KnowledgeImportException(string message, Exception? inner = null) : Exception(message, inner);
