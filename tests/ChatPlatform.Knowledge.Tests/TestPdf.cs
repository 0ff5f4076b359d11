using System.Text;
using UglyToad.PdfPig.Core;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Outline;
using UglyToad.PdfPig.Outline.Destinations;
using UglyToad.PdfPig.Writer;

namespace ChatPlatform.Knowledge.Tests;

/// <summary>Small PDFs made with PdfPig's builder: text pages, an outline, and damaged or encrypted variants.</summary>
internal static class TestPdf
{
    /// <summary>One page per text; <paramref name="outline"/> gives (title, page) bookmarks.</summary>
    public static byte[] Build(string title, IReadOnlyList<string> pages, IReadOnlyList<(string Title, int Page)>? outline = null)
    {
        var builder = new PdfDocumentBuilder();
        builder.DocumentInformation.Title = title;
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        foreach (var text in pages)
        {
            var page = builder.AddPage(UglyToad.PdfPig.Content.PageSize.A4);
            var y = 780.0;
            foreach (var line in text.Split('\n'))
            {
                page.AddText(line, 11, new PdfPoint(40, y), font);
                y -= 16;
            }
        }
        if (outline is not null)
            builder.Bookmarks = new Bookmarks([.. outline.Select(o => (BookmarkNode)new DocumentBookmarkNode(o.Title, 0,
                new ExplicitDestination(o.Page, ExplicitDestinationType.FitPage, ExplicitDestinationCoordinates.Empty), []))]);
        return builder.Build();
    }

    /// <summary>The same file with an /Encrypt dictionary whose passwords match nothing.</summary>
    public static byte[] Encrypted(byte[] pdf)
    {
        var text = Encoding.Latin1.GetString(pdf);
        var trailer = text.LastIndexOf("trailer", StringComparison.Ordinal);
        var root = text.IndexOf("/Root", trailer, StringComparison.Ordinal);
        var encrypt = "/Encrypt << /Filter /Standard /V 1 /R 2 /O <" + new string('A', 64) + "> /U <" + new string('B', 64) + "> /P -4 >> ";
        return Encoding.Latin1.GetBytes(text[..root] + encrypt + text[root..]);
    }
}
