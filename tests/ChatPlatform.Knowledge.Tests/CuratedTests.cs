using ChatPlatform.Core.Personas;
using ChatPlatform.Knowledge.Ingestion;
using ChatPlatform.Testing;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace ChatPlatform.Knowledge.Tests;

public sealed class CuratedTests
{
    private static PersonaPack Pack(string directory) => new()
    {
        Id = "gradchat",
        Name = "GradChat",
        Domain = "education",
        Version = "1.0.0",
        Directory = directory,
        Locales = ["en", "zh-CN"],
        Greeting = new Dictionary<string, string> { ["en"] = "Hi", ["zh-CN"] = "你好" },
        SystemPrompt = new Dictionary<string, string> { ["en"] = "You help.", ["zh-CN"] = "你帮忙。" },
    };

    [Fact]
    public async Task LookupAsync_QuestionRephrasedFromCurated_AnswerReturnedAndHitCounted()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var csv = k.Write("curated.csv", "id,question,answer,locale\nfee-refund,\"Can I get the application fee refunded?\",\"No, the fee is not refundable.\",en\nfee-zh,申请费可以退吗？,不可以退。,zh-CN\n");
        await k.Knowledge.ImportCuratedCsvAsync("gradchat", csv, "ops", ct);
        var pack = Pack(k.Folder);

        var english = await k.Knowledge.LookupAsync(pack, "can the application fee be refunded?", "en", ct);
        var chinese = await k.Knowledge.LookupAsync(pack, "请问申请费能退吗", "zh-CN", ct);
        var unrelated = await k.Knowledge.LookupAsync(pack, "When is the application deadline?", "en", ct);

        Assert.Equal(("fee-refund", "No, the fee is not refundable."), (english.Curated?.Id, english.Curated?.Answer));
        Assert.Equal("fee-zh", chinese.Curated?.Id);
        Assert.Null(unrelated.Curated);
        var listed = await k.Knowledge.ListCuratedAsync("gradchat", ct);
        Assert.Equal(1, listed.Single(a => a.Id == "fee-refund").Hits);
        Assert.Equal(1, listed.Single(a => a.Id == "fee-zh").Hits);
    }

    [Fact]
    public async Task ImportCuratedCsvAsync_BadRow_NothingImported()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var csv = k.Write("bad.csv", "question,answer\nWhat is the fee?,50 pounds\nWho can apply?,\n");

        var error = await Assert.ThrowsAsync<KnowledgeImportException>(() => k.Knowledge.ImportCuratedCsvAsync("gradchat", csv, "ops", ct));

        Assert.Equal("bad.csv:3: the answer is empty", error.Message);
        Assert.Empty(await k.Knowledge.ListCuratedAsync("gradchat", ct));
    }

    [Fact]
    public async Task AddCuratedAsync_SameKeyAgain_ReplacesAnswerKeepsHits()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var pack = Pack(k.Folder);
        await k.Knowledge.AddCuratedAsync("gradchat", "Is there an interview?", "Sometimes.", "ops", "en", "interview", ct);
        await k.Knowledge.LookupAsync(pack, "Is there an interview?", "en", ct);

        await k.Knowledge.AddCuratedAsync("gradchat", "Is there an interview?", "Some programmes hold a 30-minute online interview.", "ops", "en", "interview", ct);
        var lookup = await k.Knowledge.LookupAsync(pack, "is there an interview", "en", ct);

        Assert.Equal("Some programmes hold a 30-minute online interview.", lookup.Curated?.Answer);
        Assert.Equal(2, Assert.Single(await k.Knowledge.ListCuratedAsync("gradchat", ct)).Hits);
    }

    [Fact]
    public async Task AddCuratedFromReplyAsync_StoredReply_QuestionAndAnswerFromTheConversation()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var conversations = new ChatPlatform.Data.Conversations.EfConversationStore(k.Store, ChatPlatform.Core.Privacy.IdentityRedactor.Instance);
        await conversations.OpenAsync("web", "c1", "gradchat", "en", null, ct);
        await conversations.AppendAsync("web", "c1", new ChatPlatform.Core.Chat.StoredMessage("user", "Do I need a GRE score?", DateTimeOffset.UtcNow), null, ct);
        await conversations.AppendAsync("web", "c1", new ChatPlatform.Core.Chat.StoredMessage("assistant", "No GRE is required.", DateTimeOffset.UtcNow), null, ct);
        long replyId;
        await using (var db = await k.Store.CreateDbContextAsync(ct))
            replyId = await db.Messages.Where(m => m.Role == "assistant").Select(m => m.Id).SingleAsync(ct);

        var saved = await k.Knowledge.AddCuratedFromReplyAsync(replyId, "reviewer", cancellationToken: ct);
        var lookup = await k.Knowledge.LookupAsync(Pack(k.Folder), "do i need the GRE score", "en", ct);

        Assert.Equal(("Do I need a GRE score?", "No GRE is required.", "en"), (saved.Question, saved.Answer, saved.Locale));
        Assert.Equal("No GRE is required.", lookup.Curated?.Answer);
    }

    [Fact]
    public async Task SyncPackAsync_KnowledgeFolder_ImportsOnceAndRemovesDeletedFiles()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var folder = Path.Combine(k.Folder, "pack", "knowledge");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "a.md"), "# A\n\n## Fees\nThe fee is 50 pounds.\n");
        File.WriteAllText(Path.Combine(folder, "b.md"), "# B\n\n## Visa\nApply for the visa early.\n");
        File.WriteAllText(Path.Combine(folder, "broken.pdf"), "not a pdf");
        File.WriteAllText(Path.Combine(folder, "curated.csv"), "question,answer\nIs there a fee?,Yes.\n");
        var pack = Pack(Path.Combine(k.Folder, "pack")) with { KnowledgeDirectory = folder };

        var first = await k.Knowledge.SyncPackAsync(pack, ct);
        var second = await k.Knowledge.SyncPackAsync(pack, ct);
        File.Delete(Path.Combine(folder, "b.md"));
        var third = await k.Knowledge.SyncPackAsync(pack, ct);

        Assert.Equal(2, first.Documents.Count(d => d.Status == IngestStatus.Added));
        Assert.Contains(first.Problems, p => p.StartsWith("broken.pdf:", StringComparison.Ordinal));
        Assert.Equal(1, first.Curated);
        Assert.All(second.Documents, d => Assert.Equal(IngestStatus.Unchanged, d.Status));
        Assert.Equal(1, third.Removed);
        Assert.Equal(["a.md"], (await k.Knowledge.ListAsync("gradchat", ct)).Select(d => d.Source));
    }
}
