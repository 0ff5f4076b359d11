using ChatPlatform.Core.Knowledge;
using Xunit;

namespace ChatPlatform.Core.Tests.Knowledge;

public sealed class CitationFooterTests
{
    private static readonly Citation[] Sources =
    [
        new(1, "guide.md#Deadlines", "Admissions guide", "Deadlines", 3, "https://example.edu/admissions"),
        new(2, "notes.txt#", "Notes [draft]", null, null, "file:///srv/notes.txt"),
    ];

    [Fact]
    public void Format_NoSources_Empty()
    {
        Assert.Equal("", CitationFooter.Format([], CitationMarkup.Markdown));
    }

    [Fact]
    public void Format_Markdown_NumberedListWithWebLinksOnly()
    {
        var footer = CitationFooter.Format(Sources, CitationMarkup.Markdown);

        Assert.Equal("\n\n———\n\n1. [Admissions guide — Deadlines, p. 3](https://example.edu/admissions)\n2. Notes \\[draft\\]", footer);
    }

    [Fact]
    public void Format_Slack_MrkdwnLinksOneLinePerSource()
    {
        var footer = CitationFooter.Format(Sources, CitationMarkup.Slack);

        Assert.Equal("\n\n———\n[1] <https://example.edu/admissions|Admissions guide — Deadlines, p. 3>\n[2] Notes [draft] (file:///srv/notes.txt)", footer);
    }

    [Fact]
    public void WebLink_ParenthesesOrNotHttp_EscapedOrNull()
    {
        Assert.Equal("https://example.edu/a%28b%29", CitationFooter.WebLink("https://example.edu/a(b)"));
        Assert.Null(CitationFooter.WebLink("javascript:alert(1)"));
        Assert.Null(CitationFooter.WebLink("guide.md"));
    }
}
