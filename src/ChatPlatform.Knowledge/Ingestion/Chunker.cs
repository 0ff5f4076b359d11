using System.Text;

namespace ChatPlatform.Knowledge.Ingestion;

/// <summary>A passage ready to store: its stable key, section path and page.</summary>
public sealed record Chunk(string Key, int Ordinal, string Section, int? Page, string Text);

/// <summary>
/// Cuts sections into passages of at most <see cref="MaxChars"/> characters at paragraph, then sentence boundaries,
/// never across a heading. Keys are stable (<c>source#Section/Subsection</c>, with <c>~2</c>, <c>~3</c> for a long
/// section's later parts and <c>@p4</c> for an untitled PDF page), so evaluation sets can name the passage they expect.
/// </summary>
public static class Chunker
{
    public const int MaxChars = 900;
    public const string SectionSeparator = " / ";

    public static List<Chunk> Split(string source, ExtractedDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var chunks = new List<Chunk>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var section in document.Sections)
        {
            var path = string.Join(SectionSeparator, section.Path);
            var baseKey = source + "#" + (path.Length > 0 ? path : section.Page is { } p ? $"@p{p}" : "");
            foreach (var piece in Pieces(section.Text))
            {
                var n = seen[baseKey] = seen.GetValueOrDefault(baseKey) + 1;
                var key = n == 1 ? baseKey : $"{baseKey}~{n}";
                chunks.Add(new Chunk(key, chunks.Count, path, section.Page, piece));
            }
        }
        return chunks;
    }

    private static IEnumerable<string> Pieces(string text)
    {
        var current = new StringBuilder();
        foreach (var paragraph in Paragraphs(text))
        {
            foreach (var part in paragraph.Length <= MaxChars ? [paragraph] : Sentences(paragraph))
            {
                if (current.Length > 0 && current.Length + part.Length + 2 > MaxChars)
                {
                    yield return current.ToString().Trim();
                    current.Clear();
                }
                if (current.Length > 0) current.Append(part.Length > 0 && paragraph.Length > MaxChars ? " " : "\n\n");
                current.Append(part);
            }
        }
        if (current.ToString().Trim().Length > 0)
            yield return current.ToString().Trim();
    }

    private static string[] Paragraphs(string text) =>
        text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Sentences of a long paragraph; a sentence longer than the limit is cut hard.</summary>
    private static IEnumerable<string> Sentences(string paragraph)
    {
        var start = 0;
        for (var i = 0; i < paragraph.Length; i++)
        {
            var c = paragraph[i];
            var end = c is '。' or '！' or '？' or '；' || (c is '.' or '!' or '?' && (i + 1 == paragraph.Length || char.IsWhiteSpace(paragraph[i + 1])));
            if (end || i - start + 1 >= MaxChars)
            {
                yield return paragraph[start..(i + 1)].Trim();
                start = i + 1;
            }
        }
        if (start < paragraph.Length && paragraph[start..].Trim().Length > 0)
            yield return paragraph[start..].Trim();
    }
}
