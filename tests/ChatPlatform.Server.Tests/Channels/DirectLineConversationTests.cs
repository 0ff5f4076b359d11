using ChatPlatform.Channels.DirectLine;
using Xunit;

namespace ChatPlatform.Server.Tests.Channels;

/// <summary>One conversation's copy on a node: stored messages enter in store order only, under their store positions.</summary>
public sealed class DirectLineConversationTests
{
    [Fact]
    public void AddStored_LaterMessageFirst_WaitsUntilTheGapIsFilledThenBothInOrder()
    {
        var conversation = new DirectLineConversation("c1", "gradchat", "u1", "en");
        conversation.Greet(Message("hello"));
        Assert.True(conversation.AddStored(1, conversation.StampStored(Message("one"), 1), live: true));

        // Message 3 announced before message 2 (another node stored 2 and has not said so yet): not shown, not skipped.
        Assert.False(conversation.AddStored(3, conversation.StampStored(Message("three"), 3), live: true));
        var before = conversation.Since("");
        Assert.Equal(["hello", "one"], before.Activities.Select(a => a.Text));
        Assert.Equal("1", before.Watermark);

        // Read from the store: message 2 fills the gap, and message 3 follows; a poll from watermark 1 gets both.
        Assert.True(conversation.AddStored(2, conversation.StampStored(Message("two (from the store)"), 2), live: false));
        var after = conversation.Since(before.Watermark);
        Assert.Equal(["two (from the store)", "three"], after.Activities.Select(a => a.Text));
        Assert.Equal(["c1|0000002", "c1|0000003"], after.Activities.Select(a => a.Id));
        Assert.Equal("3", after.Watermark);
    }

    [Fact]
    public void AddStored_LiveCopyOfARebuiltMessage_ReplacesItKeepingItsPlace()
    {
        var conversation = new DirectLineConversation("c1", "gradchat", "u1", "en");
        conversation.AddStored(1, conversation.StampStored(Message("hi"), 1), live: false);
        var live = Message("hi");
        live.ChannelData = new() { ["clientActivityID"] = "client-1" };
        conversation.AddStored(1, conversation.StampStored(live, 1), live: true);

        var kept = Assert.Single(conversation.Since(null).Activities);
        Assert.Equal("client-1", (string?)kept.ChannelData!["clientActivityID"]);
    }

    [Fact]
    public void AddNotice_AfterAStoredMessage_HasItsOwnWatermarkAndIsReplayedAfterIt()
    {
        var conversation = new DirectLineConversation("c1", "gradchat", "u1", "en");
        conversation.AddStored(1, conversation.StampStored(Message("question"), 1), live: true);
        Assert.Equal(new ActivityPosition(1, 1), conversation.AddNotice(Message("busy, try again")));

        Assert.Equal("1.1", conversation.Since("1").Watermark);
        Assert.Equal(["busy, try again"], conversation.Since("1").Activities.Select(a => a.Text));
        Assert.Empty(conversation.Since("1.1").Activities);

        // The next stored message comes after the notice.
        conversation.AddStored(2, conversation.StampStored(Message("again"), 2), live: true);
        Assert.Equal(["again"], conversation.Since("1.1").Activities.Select(a => a.Text));
    }

    private static DirectLineActivity Message(string text) => new() { Type = "message", Text = text };
}
