using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Metrics;
using ChatPlatform.Testing;
using Microsoft.Extensions.AI;
using Xunit;

namespace ChatPlatform.Core.Tests.Metrics;

public sealed class ChatMetricsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Snapshot_TwentyReplies_NearestRankPercentilesAndDecodeRate()
    {
        var metrics = new ChatMetrics(new ManualTime(T0));
        for (var i = 1; i <= 20; i++)
            metrics.RecordReply(TimeSpan.FromMilliseconds(i * 10), outputTokens: 11, generation: TimeSpan.FromSeconds(1));

        var snapshot = metrics.Snapshot();

        Assert.Equal(20, snapshot.Replies);
        Assert.Equal(100, snapshot.TimeToFirstTokenP50Ms);
        Assert.Equal(190, snapshot.TimeToFirstTokenP95Ms);
        Assert.Equal(10, snapshot.TokensPerSecond);
    }

    [Fact]
    public void Snapshot_SamplesOlderThanTheWindow_AreDropped()
    {
        var time = new ManualTime(T0);
        var metrics = new ChatMetrics(time);
        metrics.RecordReply(TimeSpan.FromMilliseconds(500), 5, TimeSpan.FromSeconds(1));
        time.Advance(ChatMetrics.Window + TimeSpan.FromSeconds(1));
        metrics.RecordReply(TimeSpan.FromMilliseconds(20), 5, TimeSpan.FromSeconds(1));

        var snapshot = metrics.Snapshot();

        Assert.Equal(1, snapshot.Replies);
        Assert.Equal(20, snapshot.TimeToFirstTokenP95Ms);
    }

    [Fact]
    public void Snapshot_NoReplies_FiguresAreNull()
    {
        var snapshot = new ChatMetrics(new ManualTime(T0)).Snapshot();

        Assert.Equal((0, 0, 0L), (snapshot.Replies, snapshot.InFlight, snapshot.BusyRejections));
        Assert.Null(snapshot.TimeToFirstTokenP50Ms);
        Assert.Null(snapshot.TokensPerSecond);
    }

    [Fact]
    public async Task MetricsChatClient_StreamedReply_RecordsOneReplyAndLeavesNothingInFlight()
    {
        var metrics = new ChatMetrics(TimeProvider.System);
        using var client = new MetricsChatClient(new ScriptedChatClient("Hello", " there", "!"), metrics);

        var text = "";
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")], cancellationToken: TestContext.Current.CancellationToken))
        {
            text += update.Text;
            Assert.Equal(1, metrics.Snapshot().InFlight);
        }

        var snapshot = metrics.Snapshot();
        Assert.Equal("Hello there!", text);
        Assert.Equal((1, 0), (snapshot.Replies, snapshot.InFlight));
        Assert.NotNull(snapshot.TimeToFirstTokenP50Ms);
    }

    [Fact]
    public async Task MetricsChatClient_BusyBackend_CountsTheRejectionAndRethrows()
    {
        var metrics = new ChatMetrics(TimeProvider.System);
        using var client = new MetricsChatClient(
            new ScriptedChatClient("x") { FailWith = ChatRejectedException.Busy("full", TimeSpan.FromSeconds(5)) }, metrics);

        await Assert.ThrowsAsync<ChatRejectedException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")], cancellationToken: TestContext.Current.CancellationToken)) { }
        });

        var snapshot = metrics.Snapshot();
        Assert.Equal((1L, 0, 0), (snapshot.BusyRejections, snapshot.InFlight, snapshot.Replies));
    }
}
