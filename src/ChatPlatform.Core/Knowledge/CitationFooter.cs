using System.Text;

namespace ChatPlatform.Core.Knowledge;

/// <summary>How a text channel marks up links in a sources footer.</summary>
public enum CitationMarkup
{
    /// <summary>Plain text: <c>[1] Title — Section (https://…)</c>.</summary>
    Text,

    /// <summary>Markdown (Teams, Web Chat): a numbered list, <c>1. [Title — Section](https://…)</c>.</summary>
    Markdown,

    /// <summary>Slack mrkdwn: <c>[1] &lt;https://…|Title — Section&gt;</c>.</summary>
    Slack,
}

/// <summary>
/// The sources of a grounded reply as a footer under a divider, one line per source, for the channels that carry
/// replies as text (Slack, Bot Framework, Direct Line). Only absolute http(s) links become links; other sources show
/// their label.
/// </summary>
public static class CitationFooter
{
    /// <summary>The line between the reply and its sources.</summary>
    public const string Divider = "———";

    /// <summary>The footer to append to the reply's text, starting with a blank line; empty when there are no sources.</summary>
    public static string Format(IReadOnlyList<Citation> citations, CitationMarkup markup)
    {
        ArgumentNullException.ThrowIfNull(citations);
        if (citations.Count == 0) return "";
        // Markdown needs a blank line before a list, or the list items run into the divider's paragraph.
        var footer = new StringBuilder("\n\n").Append(Divider).Append(markup == CitationMarkup.Markdown ? "\n\n" : "\n");
        foreach (var c in citations)
            footer.Append(Line(c, markup)).Append('\n');
        return footer.ToString().TrimEnd('\n');
    }

    /// <summary>One source's line in the given markup.</summary>
    public static string Line(Citation citation, CitationMarkup markup)
    {
        ArgumentNullException.ThrowIfNull(citation);
        var link = WebLink(citation.Link);
        return markup switch
        {
            CitationMarkup.Markdown => FormattableString.Invariant($"{citation.Number}. ")
                + (link is null ? EscapeMarkdown(citation.Label) : $"[{EscapeMarkdown(citation.Label)}]({link})"),
            CitationMarkup.Slack when link is not null => FormattableString.Invariant($"[{citation.Number}] <{link}|{EscapeSlack(citation.Label)}>"),
            _ => citation.ToDisplayLine(),
        };
    }

    /// <summary>An absolute http(s) link, escaped so it cannot end a Markdown link early; null for anything else.</summary>
    public static string? WebLink(string? link) =>
        Uri.TryCreate(link, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? uri.AbsoluteUri.Replace("(", "%28", StringComparison.Ordinal).Replace(")", "%29", StringComparison.Ordinal)
            : null;

    /// <summary>Slack's three control characters, as its API asks.</summary>
    private static string EscapeSlack(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    private static string EscapeMarkdown(string text)
    {
        var escaped = new StringBuilder(text.Length);
        foreach (var ch in text)
        {
            if (ch is '\\' or '[' or ']' or '*' or '_' or '`' or '<' or '>')
                escaped.Append('\\');
            escaped.Append(ch);
        }
        return escaped.ToString();
    }
}
