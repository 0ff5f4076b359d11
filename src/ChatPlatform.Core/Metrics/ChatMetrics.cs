using ChatPlatform.Core.Chat;

namespace ChatPlatform.Core.Metrics;

/// <summary>
/// Live figures of the inference pipeline for the dashboard: replies in progress, "busy" refusals, and time to first
/// token and tokens per second over the last <see cref="Window"/>. Filled by <see cref="MetricsChatClient"/>.
/// </summary>
public sealed class ChatMetrics(TimeProvider time)
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);
    public const int MaxSamples = 10_000;

    private readonly Queue<ReplySample> _samples = new();
    private long _busyRejections;
    private int _inFlight;

    internal void Enter() => Interlocked.Increment(ref _inFlight);

    internal void Exit() => Interlocked.Decrement(ref _inFlight);

    internal void RecordBusy() => Interlocked.Increment(ref _busyRejections);

    /// <summary>Records a finished reply: time to its first text, output tokens, and time spent after the first token.</summary>
    public void RecordReply(TimeSpan timeToFirstToken, int outputTokens, TimeSpan generation)
    {
        var now = time.GetUtcNow();
        lock (_samples)
        {
            _samples.Enqueue(new ReplySample(now, timeToFirstToken.TotalMilliseconds, outputTokens, generation.TotalSeconds));
            Trim(now);
        }
    }

    public ChatMetricsSnapshot Snapshot()
    {
        var now = time.GetUtcNow();
        ReplySample[] samples;
        lock (_samples)
        {
            Trim(now);
            samples = [.. _samples];
        }
        var ttft = samples.Select(s => s.TimeToFirstTokenMs).Order().ToArray();
        var seconds = samples.Sum(s => s.GenerationSeconds);
        // Decode rate: the first token belongs to the time to first token, the rest to generation.
        var tokens = samples.Sum(s => (long)Math.Max(0, s.OutputTokens - 1));
        return new ChatMetricsSnapshot(
            now,
            Math.Max(0, Volatile.Read(ref _inFlight)),
            Interlocked.Read(ref _busyRejections),
            samples.Length,
            Percentile(ttft, 0.50),
            Percentile(ttft, 0.95),
            seconds > 0 ? tokens / seconds : null);
    }

    /// <summary>Nearest-rank percentile of sorted values; null when there are none.</summary>
    public static double? Percentile(IReadOnlyList<double> sorted, double p)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0) return null;
        var rank = (int)Math.Ceiling(p * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    internal static bool IsBusy(Exception e) => e is ChatRejectedException { Error.Kind: ChatErrorKind.Busy };

    private void Trim(DateTimeOffset now)
    {
        while (_samples.Count > 0 && (_samples.Count > MaxSamples || now - _samples.Peek().At > Window))
            _samples.Dequeue();
    }

    private readonly record struct ReplySample(DateTimeOffset At, double TimeToFirstTokenMs, int OutputTokens, double GenerationSeconds);
}

/// <summary>
/// The pipeline's figures at <paramref name="At"/>: <paramref name="InFlight"/> replies admitted or waiting,
/// <paramref name="BusyRejections"/> since start, and over the last window the number of replies, p50/p95 time to first
/// token (ms) and output tokens per second of generation (null when there were no replies).
/// </summary>
public sealed record ChatMetricsSnapshot(
    DateTimeOffset At,
    int InFlight,
    long BusyRejections,
    int Replies,
    double? TimeToFirstTokenP50Ms,
    double? TimeToFirstTokenP95Ms,
    double? TokensPerSecond);
