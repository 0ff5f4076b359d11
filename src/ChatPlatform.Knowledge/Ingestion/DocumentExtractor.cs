using System.Text;
using System.Text.RegularExpressions;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using UglyToad.PdfPig;
using UglyToad.PdfPig.Content;
using UglyToad.PdfPig.DocumentLayoutAnalysis.TextExtractor;
using UglyToad.PdfPig.Outline;

namespace ChatPlatform.Knowledge.Ingestion;

/// <summary>Reads Markdown, plain text, HTML and PDF into sections that follow the document's own structure.</summary>
public static partial class DocumentExtractor
{
    public static readonly IReadOnlyDictionary<string, string> Formats = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        [".md"] = "markdown", [".markdown"] = "markdown",
        [".txt"] = "text", [".text"] = "text",
        [".html"] = "html", [".htm"] = "html",
        [".pdf"] = "pdf",
    };

    /// <summary>The format for a file name, or null when it is not one that can be imported.</summary>
    public static string? FormatOf(string fileName) => Formats.GetValueOrDefault(Path.GetExtension(fileName));

    public static ExtractedDocument Extract(string source, byte[] bytes, IProgress<IngestProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var format = FormatOf(source)
            ?? throw new KnowledgeImportException($"{source}: unsupported file type '{Path.GetExtension(source)}'; supported: {string.Join(", ", Formats.Keys)}");
        var fallbackTitle = Path.GetFileNameWithoutExtension(source);
        ExtractedDocument document = format switch
        {
            "pdf" => Pdf(source, bytes, fallbackTitle, progress, cancellationToken),
            "html" => Html(DecodeText(source, bytes), fallbackTitle),
            "markdown" => Markdown(DecodeText(source, bytes), fallbackTitle),
            _ => PlainText(DecodeText(source, bytes), fallbackTitle),
        };
        if (document.Sections.All(s => string.IsNullOrWhiteSpace(s.Text)))
            throw new KnowledgeImportException(format == "pdf"
                ? $"{source}: the PDF has no extractable text (a scan without a text layer?)"
                : $"{source}: the file has no text");
        return document;
    }

    private static string DecodeText(string source, byte[] bytes)
    {
        try
        {
            var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
            if (text.Contains('\0', StringComparison.Ordinal))
                throw new KnowledgeImportException($"{source}: the file is binary, not text");
            return text.TrimStart('\uFEFF').Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        }
        catch (DecoderFallbackException)
        {
            throw new KnowledgeImportException($"{source}: the file is not UTF-8 text (save it as UTF-8 and add it again)");
        }
    }

    // ---------------------------------------------------------------- Markdown

    [GeneratedRegex(@"^(#{1,6})\s+(.+?)\s*#*\s*$")]
    private static partial Regex AtxHeading();

    [GeneratedRegex(@"^\s*(```|~~~)")]
    private static partial Regex Fence();

    internal static ExtractedDocument Markdown(string text, string fallbackTitle)
    {
        var lines = text.Split('\n');
        var start = 0;
        string? title = null, link = null;
        if (lines.Length > 0 && lines[0].Trim() == "---")
        {
            // Front matter: title and link (source URL) are used; other keys are ignored.
            for (var i = 1; i < lines.Length; i++)
            {
                if (lines[i].Trim() == "---") { start = i + 1; break; }
                var colon = lines[i].IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0) continue;
                var key = lines[i][..colon].Trim();
                var value = lines[i][(colon + 1)..].Trim().Trim('"', '\'');
                if (key == "title") title = value;
                else if (key is "link" or "url" or "source") link = value;
            }
        }

        var builder = new SectionBuilder();
        var inFence = false;
        var seenTop = false;
        for (var i = start; i < lines.Length; i++)
        {
            var line = lines[i];
            if (Fence().IsMatch(line)) inFence = !inFence;
            if (!inFence && AtxHeading().Match(line) is { Success: true } m)
            {
                var heading = StripInline(m.Groups[2].Value);
                var level = m.Groups[1].Value.Length;
                if (level == 1 && !seenTop && builder.IsEmpty)
                {
                    // The first top heading names the document (front matter's title, when given, wins).
                    seenTop = true;
                    title ??= heading;
                    builder.Heading(1, heading, skipTop: true);
                    continue;
                }
                builder.Heading(level, heading);
                continue;
            }
            if (!inFence && i + 1 < lines.Length && line.Trim().Length > 0 && Regex.IsMatch(lines[i + 1], @"^\s*(=+|-+)\s*$") && !line.TrimStart().StartsWith('-'))
            {
                var level = lines[i + 1].Trim()[0] == '=' ? 1 : 2;
                builder.Heading(level, StripInline(line.Trim()));
                i++;
                continue;
            }
            builder.Line(inFence ? line : StripInline(line));
        }
        return new ExtractedDocument(title ?? fallbackTitle, "markdown", builder.Build(), 0, link);
    }

    [GeneratedRegex(@"!\[([^\]]*)\]\([^)]*\)|\[([^\]]+)\]\([^)]*\)|[*_`]{1,3}")]
    private static partial Regex InlineMarkup();

    private static string StripInline(string s) => InlineMarkup().Replace(s, m =>
        m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Success ? m.Groups[2].Value : "");

    // ---------------------------------------------------------------- plain text

    [GeneratedRegex(@"^(第[一二三四五六七八九十百零〇0-9]+[章节部分篇条]|[一二三四五六七八九十]+、|(\d+)(\.\d+)*[.、]?)\s*\S")]
    private static partial Regex NumberedHeading();

    [GeneratedRegex(@"(\.{3,}|…{2,}|·{3,})\s*\d+\s*$")]
    private static partial Regex TocLine();

    /// <summary>
    /// Plain text: numbered headings (1. / 1.2 / 第一章 / 一、) and short title-like lines between blank lines
    /// start sections; table-of-contents lines ("Deadlines ........ 3") are skipped.
    /// </summary>
    internal static ExtractedDocument PlainText(string text, string fallbackTitle)
    {
        var lines = text.Split('\n');
        var builder = new SectionBuilder();
        string? title = null;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd();
            var trimmed = line.Trim();
            if (TocLine().IsMatch(trimmed) || TocTitles.Contains(trimmed)) continue;
            var isolated = (i == 0 || lines[i - 1].Trim().Length == 0) && (i + 1 >= lines.Length || lines[i + 1].Trim().Length == 0);
            if (trimmed.Length is > 0 and <= 60 && !EndsLikeSentence(trimmed))
            {
                if (NumberedHeading().Match(trimmed) is { Success: true } m)
                {
                    var level = m.Groups[2].Success ? 1 + m.Groups[3].Captures.Count : trimmed.StartsWith('第') && trimmed.Contains('节', StringComparison.Ordinal) ? 2 : 1;
                    builder.Heading(level, trimmed);
                    continue;
                }
                if (isolated && title is null && builder.IsEmpty)
                {
                    title = trimmed;
                    builder.Heading(1, trimmed, skipTop: true);
                    continue;
                }
                if (isolated && !trimmed.Contains(',', StringComparison.Ordinal) && !trimmed.Contains('，', StringComparison.Ordinal))
                {
                    builder.Heading(builder.Depth == 0 ? 1 : builder.Depth, trimmed);
                    continue;
                }
            }
            builder.Line(line);
        }
        return new ExtractedDocument(title ?? fallbackTitle, "text", builder.Build(), 0);
    }

    private static readonly HashSet<string> TocTitles = new(StringComparer.OrdinalIgnoreCase) { "Contents", "Table of contents", "目录", "目錄" };

    private static bool EndsLikeSentence(string s) => s[^1] is '.' or '。' or '!' or '！' or '?' or '？' or ';' or '；' or ':' or '：' or ',' or '，';

    // ---------------------------------------------------------------- HTML

    internal static ExtractedDocument Html(string text, string fallbackTitle)
    {
        var document = new HtmlParser().ParseDocument(text);
        var title = document.Title?.Trim();
        var link = document.QuerySelector("link[rel=canonical]")?.GetAttribute("href");
        var builder = new SectionBuilder();
        var body = (IElement?)document.Body ?? document.DocumentElement;
        foreach (var skip in body.QuerySelectorAll("script, style, nav, noscript, template").ToList())
            skip.Remove();
        Walk(body, builder, ref title);
        return new ExtractedDocument(string.IsNullOrWhiteSpace(title) ? fallbackTitle : title, "html", builder.Build(), 0, link);
    }

    private static readonly HashSet<string> BlockTags = new(StringComparer.OrdinalIgnoreCase)
    {
        "P", "LI", "TD", "TH", "PRE", "BLOCKQUOTE", "DT", "DD", "CAPTION", "FIGCAPTION",
    };

    private static void Walk(IElement element, SectionBuilder builder, ref string? title)
    {
        foreach (var child in element.Children)
        {
            var tag = child.TagName;
            if (tag.Length == 2 && tag[0] is 'H' or 'h' && tag[1] is >= '1' and <= '6')
            {
                var heading = Collapse(child.TextContent);
                if (heading.Length == 0) continue;
                var level = tag[1] - '0';
                if (level == 1 && builder.IsEmpty && (string.IsNullOrWhiteSpace(title) || title == heading))
                {
                    title = heading;
                    builder.Heading(1, heading, skipTop: true);
                }
                else
                {
                    builder.Heading(level, heading);
                }
            }
            else if (BlockTags.Contains(tag) || child.Children.Length == 0)
            {
                var line = Collapse(child.TextContent);
                if (line.Length > 0)
                {
                    builder.Line(tag is "LI" or "li" ? "- " + line : line);
                    builder.Line("");
                }
            }
            else
            {
                Walk(child, builder, ref title);
            }
        }
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    private static string Collapse(string s) => Whitespace().Replace(s, " ").Trim();

    // ---------------------------------------------------------------- PDF

    /// <summary>
    /// PDF: text page by page; the document outline (its table of contents), when there is one, gives each page its
    /// section path.
    /// </summary>
    private static ExtractedDocument Pdf(string source, byte[] bytes, string fallbackTitle, IProgress<IngestProgress>? progress, CancellationToken cancellationToken)
    {
        try
        {
            using var pdf = PdfDocument.Open(bytes);
            var outline = new List<(int Page, IReadOnlyList<string> Path)>();
            if (pdf.TryGetBookmarks(out var bookmarks))
                Flatten(bookmarks.Roots, [], outline);
            outline.Sort((a, b) => a.Page.CompareTo(b.Page));

            var title = pdf.Information.Title is { Length: > 0 } t ? t.Trim() : fallbackTitle;
            var sections = new List<DocumentSection>();
            var total = pdf.NumberOfPages;
            for (var n = 1; n <= total; n++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Page page = pdf.GetPage(n);
                var text = ContentOrderTextExtractor.GetText(page);
                IReadOnlyList<string> path = [];
                foreach (var (p, bookmarkPath) in outline)
                {
                    if (p > n) break;
                    path = bookmarkPath;
                }
                if (!string.IsNullOrWhiteSpace(text))
                    sections.Add(new DocumentSection(path, text.Replace("\r\n", "\n", StringComparison.Ordinal), n));
                if (n % 20 == 0 || n == total) progress?.Report(new IngestProgress(source, "reading pages", n, total));
            }
            return new ExtractedDocument(title, "pdf", sections, total);
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (KnowledgeImportException)
        {
            throw;
        }
        catch (Exception e) when (e.GetType().Name.Contains("Encrypted", StringComparison.Ordinal)
            || e.Message.Contains("encrypt", StringComparison.OrdinalIgnoreCase))
        {
            throw new KnowledgeImportException($"{source}: the PDF is encrypted or password-protected; export an unprotected copy and add that", e);
        }
        catch (Exception e)
        {
            // PdfPig reports damaged files with several exception types; none of them is worth more than one line.
            throw new KnowledgeImportException($"{source}: not a readable PDF ({FirstLine(e.Message)})", e);
        }
    }

    private static string FirstLine(string message)
    {
        var line = message.Split('\n')[0].Trim();
        return line.Length > 200 ? line[..200] : line;
    }

    private static void Flatten(IEnumerable<BookmarkNode> nodes, IReadOnlyList<string> parent, List<(int, IReadOnlyList<string>)> outline)
    {
        foreach (var node in nodes)
        {
            IReadOnlyList<string> path = [.. parent, node.Title.Trim()];
            if (node is DocumentBookmarkNode { PageNumber: > 0 } d)
                outline.Add((d.PageNumber, path));
            Flatten(node.Children, path, outline);
        }
    }

    /// <summary>Collects lines under the current heading path.</summary>
    private sealed class SectionBuilder
    {
        private readonly List<(int Level, string Text)> _path = [];
        private readonly List<DocumentSection> _sections = [];
        private readonly StringBuilder _text = new();

        public bool IsEmpty => _sections.Count == 0 && _text.ToString().Trim().Length == 0;
        public int Depth => _path.Count == 0 ? 0 : _path[^1].Level;

        /// <param name="skipTop">The document's title: it names the document, so it is not repeated in section paths.</param>
        public void Heading(int level, string text, bool skipTop = false)
        {
            Flush();
            _path.RemoveAll(p => p.Level >= level);
            if (!skipTop) _path.Add((level, text));
        }

        public void Line(string line) => _text.Append(line).Append('\n');

        private void Flush()
        {
            var text = _text.ToString().Trim();
            _text.Clear();
            if (text.Length > 0)
                _sections.Add(new DocumentSection([.. _path.Select(p => p.Text)], text));
        }

        public List<DocumentSection> Build()
        {
            Flush();
            return _sections;
        }
    }
}
