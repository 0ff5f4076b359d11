using ChatPlatform.Core.Personas;
using ChatPlatform.Knowledge.Ingestion;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace ChatPlatform.Knowledge.Tests;

public sealed class IngestionTests
{
    private static readonly KnowledgeSettings Settings = new();

    [Fact]
    public async Task AddFileAsync_Markdown_ChunksFollowHeadingsWithSectionPath()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var file = k.Write("guide.md", """
            ---
            title: Guide
            link: https://example.org/guide
            ---
            # Guide

            ## Applying
            ### Documents
            Upload transcripts and two reference letters.

            ## Fees
            The fee is paid online.
            """);

        var result = await k.Knowledge.AddFileAsync("gradchat", file, cancellationToken: ct);

        Assert.Equal(IngestStatus.Added, result.Status);
        await using var db = await k.Store.CreateDbContextAsync(ct);
        var chunks = await db.KnowledgeChunks.OrderBy(c => c.Ordinal).ToListAsync(ct);
        Assert.Equal(["guide.md#Applying / Documents", "guide.md#Fees"], chunks.Select(c => c.Key));
        Assert.Equal("Applying / Documents", chunks[0].Section);
        var doc = await db.KnowledgeDocuments.SingleAsync(ct);
        Assert.Equal(("Guide", "https://example.org/guide", "markdown"), (doc.Title, doc.Link, doc.Format));
    }

    [Fact]
    public async Task AddFileAsync_PlainTextWithTableOfContents_NumberedHeadingsAreSectionsAndContentsSkipped()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var file = k.Write("hours.txt", "Service guide\n\nContents\n1. Opening hours ........ 1\n2. Booking ........ 2\n\n1. Opening hours\n\nOpen from nine to five on weekdays.\n\n2. Booking\n\nBook online or by phone.\n");

        await k.Knowledge.AddFileAsync("mindchat", file, cancellationToken: ct);

        await using var db = await k.Store.CreateDbContextAsync(ct);
        var chunks = await db.KnowledgeChunks.OrderBy(c => c.Ordinal).ToListAsync(ct);
        Assert.Equal(["hours.txt#1. Opening hours", "hours.txt#2. Booking"], chunks.Select(c => c.Key));
        Assert.DoesNotContain(chunks, c => c.Text.Contains("........", StringComparison.Ordinal));
        Assert.Equal("Service guide", (await db.KnowledgeDocuments.SingleAsync(ct)).Title);
    }

    [Fact]
    public async Task AddFileAsync_Html_HeadingsAndCanonicalLinkKeptScriptsDropped()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var file = k.Write("leaflet.html", """
            <html><head><title>Leaflet</title><link rel="canonical" href="https://example.org/leaflet"></head>
            <body><nav>Home | About</nav><h1>Leaflet</h1><h2>Storage</h2><p>Keep in a cool, dry place.</p>
            <script>var secret = 1;</script><h2>Disposal</h2><ul><li>Return unused medicines to a pharmacy.</li></ul></body></html>
            """);

        await k.Knowledge.AddFileAsync("sunsimiao", file, cancellationToken: ct);

        var ranking = await k.Knowledge.RankAsync("sunsimiao", "where to return unused medicines", Settings, 5, ct);
        Assert.Equal("leaflet.html#Disposal", ranking.Passages[0].Id);
        Assert.Equal("https://example.org/leaflet", ranking.Passages[0].Link);
        await using var db = await k.Store.CreateDbContextAsync(ct);
        Assert.DoesNotContain(await db.KnowledgeChunks.Select(c => c.Text).ToListAsync(ct), t => t.Contains("secret", StringComparison.Ordinal) || t.Contains("About", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddFileAsync_PdfWithOutline_PagesAndSectionsRecorded()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var pdf = TestPdf.Build("Handbook", ["Welcome to the handbook.", "Tuition is paid each semester.", "Exams take place in June."],
            [("Introduction", 1), ("Fees", 2), ("Exams", 3)]);
        var file = k.Write("handbook.pdf", pdf);
        var reports = new List<IngestProgress>();

        var result = await k.Knowledge.AddFileAsync("gradchat", file, progress: new SyncProgress(reports), cancellationToken: ct);

        Assert.Equal(3, result.Pages);
        var ranking = await k.Knowledge.RankAsync("gradchat", "When are the exams?", Settings, 5, ct);
        var top = ranking.Passages[0];
        Assert.Equal(("handbook.pdf#Exams", "Exams", 3, "Handbook"), (top.Id, top.Section, top.Page, top.Title));
        Assert.Contains(reports, r => r.Stage == "reading pages" && r.Done == 3 && r.Total == 3);
    }

    [Fact]
    public async Task AddFileAsync_EncryptedPdf_OneLineErrorAndNothingStored()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var file = k.Write("secret.pdf", TestPdf.Encrypted(TestPdf.Build("Secret", ["Hidden text."])));

        var error = await Assert.ThrowsAsync<KnowledgeImportException>(() => k.Knowledge.AddFileAsync("gradchat", file, cancellationToken: ct));

        Assert.Contains("secret.pdf", error.Message, StringComparison.Ordinal);
        Assert.Contains("encrypted", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        await using var db = await k.Store.CreateDbContextAsync(ct);
        Assert.Equal(0, await db.KnowledgeDocuments.CountAsync(ct));
    }

    [Fact]
    public async Task AddFileAsync_CorruptPdfReplacingGoodVersion_ErrorAndOldPassagesKept()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var file = k.Write("guide.pdf", TestPdf.Build("Guide", ["Scholarships are awarded in March."]));
        await k.Knowledge.AddFileAsync("gradchat", file, cancellationToken: ct);
        var good = await File.ReadAllBytesAsync(file, ct);
        await File.WriteAllBytesAsync(file, good[..(good.Length / 3)], ct);

        var error = await Assert.ThrowsAsync<KnowledgeImportException>(() => k.Knowledge.AddFileAsync("gradchat", file, cancellationToken: ct));

        Assert.StartsWith("guide.pdf: not a readable PDF", error.Message, StringComparison.Ordinal);
        var ranking = await k.Knowledge.RankAsync("gradchat", "When are scholarships awarded?", Settings, 5, ct);
        Assert.Single(ranking.Passages);
    }

    [Fact]
    public async Task AddFileAsync_NotUtf8OrUnsupported_ClearErrors()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var latin1 = k.Write("old.txt", [0x43, 0x61, 0x66, 0xE9, 0x20, 0xFF]);
        var docx = k.Write("report.docx", "x");

        var notText = await Assert.ThrowsAsync<KnowledgeImportException>(() => k.Knowledge.AddFileAsync("gradchat", latin1, cancellationToken: ct));
        var unsupported = await Assert.ThrowsAsync<KnowledgeImportException>(() => k.Knowledge.AddFileAsync("gradchat", docx, cancellationToken: ct));
        var missing = await Assert.ThrowsAsync<KnowledgeImportException>(() => k.Knowledge.AddFileAsync("gradchat", Path.Combine(k.Folder, "nope.md"), cancellationToken: ct));

        Assert.Contains("not UTF-8", notText.Message, StringComparison.Ordinal);
        Assert.Contains("unsupported file type '.docx'", unsupported.Message, StringComparison.Ordinal);
        Assert.Contains("cannot read", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddFileAsync_ChangedFile_ReplacesPassagesAndUnchangedIsSkipped()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var file = k.Write("fees.md", "# Fees\n\n## Tuition\nTuition is paid by bank transfer.\n");
        await k.Knowledge.AddFileAsync("gradchat", file, cancellationToken: ct);
        var again = await k.Knowledge.AddFileAsync("gradchat", file, cancellationToken: ct);
        k.Write("fees.md", "# Fees\n\n## Tuition\nTuition is paid by credit card only.\n");

        var replaced = await k.Knowledge.AddFileAsync("gradchat", file, cancellationToken: ct);

        Assert.Equal(IngestStatus.Unchanged, again.Status);
        Assert.Equal(IngestStatus.Replaced, replaced.Status);
        var ranking = await k.Knowledge.RankAsync("gradchat", "How do I pay tuition?", Settings, 5, ct);
        var only = Assert.Single(ranking.Passages);
        Assert.Contains("credit card", only.Text, StringComparison.Ordinal);
        await using var db = await k.Store.CreateDbContextAsync(ct);
        Assert.Equal(1, await db.KnowledgeChunks.CountAsync(ct));
    }

    [Fact]
    public async Task RemoveAsync_Document_PassagesGoneOnThisAndAnotherNode()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        await k.Knowledge.AddFileAsync("gradchat", k.Write("visa.md", "# Visa\n\n## CAS\nThe CAS number is issued after the deposit.\n"), cancellationToken: ct);
        var other = k.OtherNode();
        Assert.Single((await other.RankAsync("gradchat", "When is the CAS issued?", Settings, 5, ct)).Passages);

        var removed = await k.Knowledge.RemoveAsync("gradchat", "visa.md", ct);

        Assert.True(removed);
        Assert.False(await k.Knowledge.RemoveAsync("gradchat", "visa.md", ct));
        Assert.Empty((await k.Knowledge.RankAsync("gradchat", "When is the CAS issued?", Settings, 5, ct)).Passages);
        Assert.Empty((await other.RankAsync("gradchat", "When is the CAS issued?", Settings, 5, ct)).Passages);
        await using var db = await k.Store.CreateDbContextAsync(ct);
        Assert.Equal(0, await db.KnowledgeChunks.CountAsync(ct));
        other.Dispose();
    }

    [Fact]
    public async Task EnsureIndexAsync_IndexFileDeleted_RebuiltFromStore()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        await k.Knowledge.AddFileAsync("gradchat", k.Write("a.md", "# A\n\n## Housing\nRooms are offered to first-year students.\n"), cancellationToken: ct);
        var fresh = k.OtherNode("fresh-index.db");

        var ranking = await fresh.RankAsync("gradchat", "Are rooms offered to students?", Settings, 5, ct);

        Assert.Equal("a.md#Housing", Assert.Single(ranking.Passages).Id);
        fresh.Dispose();
    }

    /// <summary>Records progress reports as they happen (Progress&lt;T&gt; would post them later).</summary>
    private sealed class SyncProgress(List<IngestProgress> reports) : IProgress<IngestProgress>
    {
        public void Report(IngestProgress value) => reports.Add(value);
    }
}
