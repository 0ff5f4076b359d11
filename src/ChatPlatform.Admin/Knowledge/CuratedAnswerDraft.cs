using ChatPlatform.Core.Personas;

namespace ChatPlatform.Admin.Knowledge;

/// <summary>
/// A curated answer as a person writes it in the console (by hand on the Knowledge page, or from a playground reply):
/// the question, the approved answer, where the answer comes from (optional, added under the answer as a
/// "Source:" line so the people who get it can check it) and its locale (optional: empty matches any).
/// </summary>
public sealed record CuratedAnswerDraft(string Question, string Answer, string? Source = null, string? Locale = null)
{
    /// <summary>Longest question the console accepts (the store keeps 2,000 characters).</summary>
    public const int MaxQuestionChars = 2000;

    /// <summary>Longest answer the console accepts.</summary>
    public const int MaxAnswerChars = 8000;

    /// <summary>Longest source the console accepts.</summary>
    public const int MaxSourceChars = 500;

    /// <summary>Why the draft cannot be saved, or null when it can.</summary>
    public string? Problem => this switch
    {
        _ when string.IsNullOrWhiteSpace(Question) => "The question is empty.",
        _ when string.IsNullOrWhiteSpace(Answer) => "The answer is empty.",
        _ when Question.Trim().Length > MaxQuestionChars => $"The question has {Question.Trim().Length} characters; the limit is {MaxQuestionChars}.",
        _ when Answer.Trim().Length > MaxAnswerChars => $"The answer has {Answer.Trim().Length} characters; the limit is {MaxAnswerChars}.",
        _ when Source is { } s && s.Trim().Length > MaxSourceChars => $"The source has {s.Trim().Length} characters; the limit is {MaxSourceChars}.",
        _ when Source is { } s && s.Contains('\n', StringComparison.Ordinal) => "The source must be one line (a title, a URL or a document name).",
        _ when !string.IsNullOrWhiteSpace(Locale) && !Locales.IsSupported(Locale.Trim()) =>
            $"Unknown locale '{Locale.Trim()}'; supported: {string.Join(", ", Locales.Supported)} (or none for every locale).",
        _ => null,
    };

    /// <summary>The answer as it is stored and sent: the text, then the source on its own line when one is given.</summary>
    public string StoredAnswer => string.IsNullOrWhiteSpace(Source) ? Answer.Trim() : $"{Answer.Trim()}\n\nSource: {Source.Trim()}";
}
