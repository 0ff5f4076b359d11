using ChatPlatform.Core.Personas;

namespace ChatPlatform.Core.Knowledge;

/// <summary>
/// Finds what a persona's organisation has written about a question: an operator-approved curated answer,
/// or the passages of its documents that the reply should be grounded in.
/// </summary>
public interface IKnowledgeRetriever
{
    Task<KnowledgeLookup> LookupAsync(PersonaPack pack, string question, string locale, CancellationToken cancellationToken = default);
}

/// <summary>The outcome of a lookup. <see cref="Curated"/>, when set, answers the question by itself (no model call).</summary>
public sealed record KnowledgeLookup(CuratedMatch? Curated, IReadOnlyList<KnowledgePassage> Passages)
{
    public static readonly KnowledgeLookup Empty = new(null, []);
}

/// <summary>A curated answer whose question matched the user's above the pack's threshold.</summary>
public sealed record CuratedMatch(string Id, string Question, string Answer, double Similarity);

/// <summary>One passage of a document, with where it came from.</summary>
public sealed record KnowledgePassage(
    string Id,
    string Text,
    string Title,
    string? Section,
    int? Page,
    string? Link,
    double Score);

/// <summary>
/// A source the reply was grounded in, numbered as in the prompt ([1], [2]). Every channel renders these its own way:
/// the web chat as a list, Slack as a footer, the OpenAI-compatible API as a <c>citations</c> field.
/// </summary>
public sealed record Citation(int Number, string Id, string Title, string? Section, int? Page, string? Link)
{
    /// <summary>Title, section and page: <c>Admissions guide — Deadlines, p. 3</c>.</summary>
    public string Label
    {
        get
        {
            var label = Title;
            if (!string.IsNullOrEmpty(Section)) label += " — " + Section;
            if (Page is { } page) label += FormattableString.Invariant($", p. {page}");
            return label;
        }
    }

    /// <summary>One line for text channels: <c>[1] Admissions guide — Deadlines, p. 3 (https://…)</c>.</summary>
    public string ToDisplayLine() =>
        FormattableString.Invariant($"[{Number}] {Label}") + (string.IsNullOrEmpty(Link) ? "" : $" ({Link})");

    public static Citation From(int number, KnowledgePassage passage)
    {
        ArgumentNullException.ThrowIfNull(passage);
        return new(number, passage.Id, passage.Title, passage.Section, passage.Page, passage.Link);
    }
}
