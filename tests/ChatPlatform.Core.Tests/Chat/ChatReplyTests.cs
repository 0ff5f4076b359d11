using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Knowledge;
using Xunit;

namespace ChatPlatform.Core.Tests.Chat;

public sealed class ChatReplyTests
{
    private static readonly ChatError Interrupted = new(ChatErrorKind.Upstream, "reply_interrupted", "The reply was interrupted.");

    private static async IAsyncEnumerable<ChatEvent> Events(params ChatEvent[] events)
    {
        foreach (var e in events)
        {
            await Task.Yield();
            yield return e;
        }
    }

    private static ChatCompleted Completed(string text, params Citation[] citations) =>
        new("c1", "gradchat", "en", text, "stop", 3, 12) { Citations = citations, Sequence = 4 };

    [Fact]
    public async Task ReadAsync_CompletedWithSources_MessageIsTheStoredTextWithItsFooter()
    {
        var source = new Citation(1, "guide#Deadlines", "Guide", "Deadlines", null, "https://example.edu/guide");

        var reply = await ChatReply.ReadAsync(Events(new ChatDelta("Apply "), new ChatDelta("by May [1]."), Completed("Apply by May [1].", source)),
            cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("Apply by May [1].", reply.Streamed);
        Assert.Equal(4, reply.Completed?.Sequence);
        Assert.Null(reply.Failed);
        Assert.Equal("Apply by May [1]." + CitationFooter.Format([source], CitationMarkup.Slack), reply.Message(CitationMarkup.Slack));
        Assert.Contains("https://example.edu/guide", reply.Message(CitationMarkup.Slack), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_FailedAfterSomeText_MessageKeepsTheTextThenTheFailure()
    {
        var reply = await ChatReply.ReadAsync(Events(new ChatDelta("Half a"), new ChatFailed(Interrupted)),
            cancellationToken: TestContext.Current.CancellationToken);

        Assert.Null(reply.Completed);
        Assert.Equal("reply_interrupted", reply.Failed?.Error.Code);
        Assert.Equal("Half a\n\nThe reply was interrupted.", reply.Message(CitationMarkup.Markdown));
    }

    [Fact]
    public async Task ReadAsync_FailedBeforeAnyText_MessageIsTheFailureAlone()
    {
        var reply = await ChatReply.ReadAsync(Events(new ChatFailed(Interrupted)), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("The reply was interrupted.", reply.Message(CitationMarkup.Markdown));
    }

    [Fact]
    public async Task ReadAsync_NoEvents_EmptyMessage()
    {
        var reply = await ChatReply.ReadAsync(Events(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("", reply.Message(CitationMarkup.Markdown));
        Assert.Null(reply.Completed);
        Assert.Null(reply.Failed);
    }

    [Fact]
    public async Task ReadAsync_OnDelta_SeesTheTextSoFarAfterEachPiece()
    {
        var seen = new List<string>();

        await ChatReply.ReadAsync(Events(new ChatDelta("a"), new ChatDelta("bc"), Completed("abc")), streamed =>
        {
            seen.Add(streamed.ToString());
            return Task.CompletedTask;
        }, TestContext.Current.CancellationToken);

        Assert.Equal(["a", "abc"], seen);
    }
}
