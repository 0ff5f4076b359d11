using Bunit;
using ChatPlatform.Admin.Components.Operations;
using ChatPlatform.Admin.Knowledge;
using ChatPlatform.Data.Conversations;
using Microsoft.AspNetCore.Components;
using Xunit;

namespace ChatPlatform.Server.Tests.Admin;

/// <summary>The console's knowledge pieces with logic: the reply action in the transcript and what an upload may be.</summary>
public sealed class KnowledgeComponentTests : MudComponentTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 9, 0, 0, TimeSpan.Zero);

    private static Transcript Conversation() => new(
        new ConversationSummary(1, "web", "c1", "gradchat", "en", "u1", 2, false, false, false, T0, T0),
        [
            new TranscriptMessage(20, 1, "user", "When is the deadline?", T0, null, null, null, [], [], null),
            new TranscriptMessage(21, 2, "assistant", "On 15 January.", T0, 8, 30, "stop", [], [], 1),
        ]);

    [Fact]
    public void TranscriptView_WithCurateCallback_OffersActionOnRepliesOnlyAndPassesTheMessageId()
    {
        long? curated = null;
        var cut = Context.Render<TranscriptView>(p => p.Add(c => c.Transcript, Conversation())
            .Add(c => c.OnMakeCurated, EventCallback.Factory.Create<long>(this, id => curated = id)));

        Assert.Empty(cut.Find("[data-testid='message-1']").QuerySelectorAll("[data-testid='make-curated']"));
        cut.Find("[data-testid='message-2'] [data-testid='make-curated']").Click();

        Assert.Equal(21, curated);
    }

    [Fact]
    public void TranscriptView_WithoutCurateCallback_OffersNoAction()
    {
        var cut = Context.Render<TranscriptView>(p => p.Add(c => c.Transcript, Conversation()));

        Assert.Empty(cut.FindAll("[data-testid='make-curated']"));
    }

    [Theory]
    [InlineData("guide.md", 10, null)]
    [InlineData("handbook.PDF", 10, null)]
    [InlineData("notes.docx", 10, "unsupported file type '.docx'")]
    [InlineData("../guide.md", 10, "plain file name")]
    [InlineData("guide.md", 0, "the file is empty")]
    [InlineData("guide.md", KnowledgeConsole.MaxDocumentBytes + 1, "the limit is 50 MiB")]
    public void CheckDocument_NameAndSize_RefusesWithReasonOrAccepts(string name, long size, string? reason)
    {
        var problem = KnowledgeConsole.CheckDocument(name, size);

        if (reason is null) Assert.Null(problem);
        else Assert.Contains(reason, problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadLimitedAsync_StreamOverLimit_ReturnsNullElseTheBytes()
    {
        using var small = new MemoryStream([1, 2, 3]);
        using var large = new MemoryStream(new byte[100]);

        Assert.Equal([1, 2, 3], await KnowledgeConsole.ReadLimitedAsync(small, 3, Xunit.TestContext.Current.CancellationToken));
        Assert.Null(await KnowledgeConsole.ReadLimitedAsync(large, 99, Xunit.TestContext.Current.CancellationToken));
    }
}
