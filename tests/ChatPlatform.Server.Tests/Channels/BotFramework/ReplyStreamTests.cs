using ChatPlatform.Channels.BotFramework;
using Microsoft.Bot.Builder;
using Microsoft.Bot.Schema;
using Newtonsoft.Json.Linq;
using Xunit;

namespace ChatPlatform.Server.Tests.Channels.BotFramework;

/// <summary>The Teams streaming rules on a clock the test moves: one update per second, the stream cap, the final message.</summary>
public sealed class ReplyStreamTests
{
    private readonly ManualTime _time = new();
    private readonly RecordingAdapter _adapter = new();
    private readonly BotFrameworkOptions _options = new() { StreamAfterMilliseconds = 1000, StreamMaxSeconds = 110 };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ReplyStream NewStream()
    {
        var activity = new Activity
        {
            Type = ActivityTypes.Message,
            ChannelId = "msteams",
            ServiceUrl = "http://127.0.0.1/",
            Conversation = new ConversationAccount(id: "c1", conversationType: "personal"),
            From = new ChannelAccount("u1"),
            Recipient = new ChannelAccount("bot"),
        };
        return new ReplyStream(new TurnContext(_adapter, activity), _options, _time, _time.GetTimestamp());
    }

    private static JObject? StreamInfo(Activity activity) =>
        activity.Entities?.FirstOrDefault(e => e.Type == "streaminfo")?.Properties;

    [Fact]
    public async Task WantsUpdate_AfterEachUpdate_NotAgainWithinOneSecond()
    {
        var stream = NewStream();

        Assert.False(stream.WantsUpdate());
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(stream.WantsUpdate());
        await stream.UpdateAsync("One", Ct);
        Assert.False(stream.WantsUpdate());
        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(stream.WantsUpdate());
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(stream.WantsUpdate());
        await stream.UpdateAsync("One two", Ct);

        Assert.Equal(2, _adapter.Sent.Count);
        Assert.All(_adapter.Sent, a => Assert.Equal(ActivityTypes.Typing, a.Type));
        Assert.Null(StreamInfo(_adapter.Sent[0])!["streamId"]);
        Assert.Equal("sent-1", (string?)StreamInfo(_adapter.Sent[1])!["streamId"]);
        Assert.Equal(2, (int)StreamInfo(_adapter.Sent[1])!["streamSequence"]!);
    }

    [Fact]
    public async Task FinishAsync_WithinTheStream_FinalMessageCarriesTheStreamId()
    {
        var stream = NewStream();
        _time.Advance(TimeSpan.FromSeconds(1));
        await stream.UpdateAsync("One", Ct);
        _time.Advance(TimeSpan.FromSeconds(1));

        await stream.FinishAsync("One two three.", Ct);

        var final = _adapter.Sent[^1];
        Assert.Equal(ActivityTypes.Message, final.Type);
        Assert.Equal("One two three.", final.Text);
        Assert.Equal("final", (string?)StreamInfo(final)!["streamType"]);
        Assert.Equal("sent-1", (string?)StreamInfo(final)!["streamId"]);
    }

    [Fact]
    public async Task WantsUpdate_PastTheStreamCap_StopsAndALateAnswerIsAPlainMessage()
    {
        var stream = NewStream();
        _time.Advance(TimeSpan.FromSeconds(1));
        await stream.UpdateAsync("One", Ct);

        _time.Advance(TimeSpan.FromSeconds(110));
        Assert.False(stream.WantsUpdate());
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.False(stream.WantsUpdate());
        await stream.FinishAsync("A very long answer.", Ct);

        Assert.Equal(2, _adapter.Sent.Count);
        Assert.Equal(ActivityTypes.Message, _adapter.Sent[1].Type);
        Assert.Null(StreamInfo(_adapter.Sent[1]));
    }

    private sealed class ManualTime : TimeProvider
    {
        private long _ticks = TimeSpan.FromDays(1).Ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public override DateTimeOffset GetUtcNow() => DateTimeOffset.UnixEpoch.AddTicks(_ticks);

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }

    private sealed class RecordingAdapter : BotAdapter
    {
        public List<Activity> Sent { get; } = [];

        public override Task<ResourceResponse[]> SendActivitiesAsync(ITurnContext turnContext, Activity[] activities, CancellationToken cancellationToken)
        {
            Sent.AddRange(activities);
            return Task.FromResult(activities.Select(_ => new ResourceResponse("sent-" + Sent.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray());
        }

        public override Task<ResourceResponse> UpdateActivityAsync(ITurnContext turnContext, Activity activity, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public override Task DeleteActivityAsync(ITurnContext turnContext, ConversationReference reference, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
