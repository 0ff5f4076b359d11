using System.Diagnostics.Metrics;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Metrics;
using ChatPlatform.Testing;
using Microsoft.Extensions.AI;
using Xunit;

namespace ChatPlatform.Core.Tests.Metrics;

/// <summary>
/// The dashboard's reader of the meters. The GenAI instruments are process-wide, so every test that records them lives
/// in this class (its tests run one at a time).
/// </summary>
public sealed class ChatMetricsTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    private readonly TestMeterFactory _meters = new();
    private readonly Meter _genAi = new(ChatPlatformMetrics.GenAiSourceName);

    public void Dispose()
    {
        _genAi.Dispose();
        _meters.Dispose();
    }

    /// <summary>One streamed reply as the GenAI middleware records it.</summary>
    private void RecordReply(double timeToFirstChunk, int outputTokens, double duration)
    {
        _genAi.CreateHistogram<double>(ChatMetrics.TimeToFirstChunkName).Record(timeToFirstChunk);
        _genAi.CreateHistogram<int>(ChatMetrics.TokenUsageName).Record(outputTokens, new KeyValuePair<string, object?>("gen_ai.token.type", "output"));
        _genAi.CreateHistogram<int>(ChatMetrics.TokenUsageName).Record(500, new KeyValuePair<string, object?>("gen_ai.token.type", "input"));
        _genAi.CreateHistogram<double>(ChatMetrics.OperationDurationName).Record(duration);
    }

    [Fact]
    public void Snapshot_TwentyReplies_NearestRankPercentilesAndDecodeRate()
    {
        using var metrics = new ChatMetrics(_meters, new ManualTime(T0));
        for (var i = 1; i <= 20; i++)
            RecordReply(i * 0.010, outputTokens: 11, duration: i * 0.010 + 1);

        var snapshot = metrics.Snapshot();

        Assert.Equal(20, snapshot.Replies);
        Assert.Equal(100, snapshot.TimeToFirstTokenP50Ms!.Value, 6);
        Assert.Equal(190, snapshot.TimeToFirstTokenP95Ms!.Value, 6);
        Assert.Equal(10, snapshot.TokensPerSecond!.Value, 6);
    }

    [Fact]
    public void Snapshot_FailedCall_LeavesTheDecodeRateAlone()
    {
        using var metrics = new ChatMetrics(_meters, new ManualTime(T0));
        RecordReply(0.5, outputTokens: 11, duration: 1.5);
        _genAi.CreateHistogram<double>(ChatMetrics.OperationDurationName).Record(30, new KeyValuePair<string, object?>("error.type", "System.TimeoutException"));

        Assert.Equal(10, metrics.Snapshot().TokensPerSecond!.Value, 6);
    }

    [Fact]
    public void Snapshot_SamplesOlderThanTheWindow_AreDropped()
    {
        var time = new ManualTime(T0);
        using var metrics = new ChatMetrics(_meters, time);
        RecordReply(0.5, 5, 1.5);
        time.Advance(ChatMetrics.Window + TimeSpan.FromSeconds(1));
        RecordReply(0.02, 5, 1.02);

        var snapshot = metrics.Snapshot();

        Assert.Equal(1, snapshot.Replies);
        Assert.Equal(20, snapshot.TimeToFirstTokenP95Ms!.Value, 6);
    }

    [Fact]
    public void Snapshot_NoReplies_FiguresAreNull()
    {
        using var metrics = new ChatMetrics(_meters, new ManualTime(T0));

        var snapshot = metrics.Snapshot();

        Assert.Equal((0, 0, 0L), (snapshot.Replies, snapshot.InFlight, snapshot.BusyRejections));
        Assert.Null(snapshot.TimeToFirstTokenP50Ms);
        Assert.Null(snapshot.TokensPerSecond);
    }

    [Fact]
    public async Task Pipeline_StreamedReply_OneReplyWithItsTimeToFirstTokenAndNothingLeftInFlight()
    {
        using var metrics = new ChatMetrics(_meters, TimeProvider.System);
        using var client = new ChatClientBuilder(new ScriptedChatClient("Hello", " there", "!"))
            .Use(inner => new MetricsChatClient(inner, new ChatPlatformMetrics(_meters)))
            .UseOpenTelemetry(sourceName: ChatPlatformMetrics.GenAiSourceName)
            .Build();

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
    public async Task Pipeline_BusyBackend_CountsTheRefusalAndRethrows()
    {
        using var metrics = new ChatMetrics(_meters, TimeProvider.System);
        using var client = new MetricsChatClient(
            new ScriptedChatClient("x") { FailWith = ChatRejectedException.Busy("full", TimeSpan.FromSeconds(5)) }, new ChatPlatformMetrics(_meters));

        await Assert.ThrowsAsync<ChatRejectedException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")], cancellationToken: TestContext.Current.CancellationToken)) { }
        });

        var snapshot = metrics.Snapshot();
        Assert.Equal((1L, 0, 0), (snapshot.BusyRejections, snapshot.InFlight, snapshot.Replies));
    }

    [Fact]
    public void Snapshot_AnotherHostsRefusals_AreNotCounted()
    {
        using var metrics = new ChatMetrics(_meters, TimeProvider.System);
        using var otherHost = new TestMeterFactory();

        new ChatPlatformMetrics(otherHost).RecordBusyRefusal();
        new ChatPlatformMetrics(_meters).RecordBusyRefusal();

        Assert.Equal(1L, metrics.Snapshot().BusyRejections);
    }
}
