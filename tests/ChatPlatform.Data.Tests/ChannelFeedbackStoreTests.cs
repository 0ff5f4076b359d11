using ChatPlatform.Core.Chat;
using ChatPlatform.Data.Conversations;
using ChatPlatform.Data.Feedback;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace ChatPlatform.Data.Tests;

/// <summary>Ratings given on a channel, tied to the channel's stored conversation and its latest reply.</summary>
public sealed class ChannelFeedbackStoreTests
{
    private const string Channel = "bf-msteams";
    private const string Conversation = "gradchat|19:meeting";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task AddFeedbackAsync_ConversationNotStored_NothingStored(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var feedback = new ChannelFeedbackStore(database.Factory, TimeProvider.System);

        Assert.Null(await feedback.LatestReplyIdAsync(Channel, Conversation, Ct));
        Assert.False(await feedback.AddFeedbackAsync(Channel, Conversation, null, 1, "reaction:like", Ct));
        Assert.Equal(0, await feedback.RemoveFeedbackAsync(Channel, Conversation, null, "reaction:like", Ct));
        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        Assert.False(await db.Feedback.AnyAsync(Ct));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task AddThenRemove_RatingOnTheLatestReply_ClampedThenGone(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var store = new EfConversationStore(database.Factory);
        await store.CreateAsync(Channel, Conversation, "gradchat", "en", "u1", Ct);
        await store.AppendAsync(Channel, Conversation, new StoredMessage("user", "When is the deadline?", DateTimeOffset.UtcNow), null, Ct);
        await store.AppendAsync(Channel, Conversation, new StoredMessage("assistant", "15 January.", DateTimeOffset.UtcNow), null, Ct);
        await store.AppendAsync(Channel, Conversation, new StoredMessage("user", "And for funding?", DateTimeOffset.UtcNow), null, Ct);
        await store.AppendAsync(Channel, Conversation, new StoredMessage("assistant", "1 December.", DateTimeOffset.UtcNow), null, Ct);
        var feedback = new ChannelFeedbackStore(database.Factory, TimeProvider.System);

        var latest = await feedback.LatestReplyIdAsync(Channel, Conversation, Ct);
        Assert.True(await feedback.AddFeedbackAsync(Channel, Conversation, latest, 5, "reaction:like", Ct));

        await using (var db = await database.Factory.CreateDbContextAsync(Ct))
        {
            Assert.Equal("1 December.", await db.Messages.Where(m => m.Id == latest).Select(m => m.Text).SingleAsync(Ct));
            var row = await db.Feedback.SingleAsync(Ct);
            Assert.Equal(1, row.Rating);
            Assert.Equal(latest, row.MessageId);
        }
        Assert.Equal(0, await feedback.RemoveFeedbackAsync(Channel, Conversation, latest, "reaction:heart", Ct));
        Assert.Equal(1, await feedback.RemoveFeedbackAsync(Channel, Conversation, latest, "reaction:like", Ct));
        await using var after = await database.Factory.CreateDbContextAsync(Ct);
        Assert.False(await after.Feedback.AnyAsync(Ct));
    }
}
