using System.Diagnostics.Metrics;

namespace ChatPlatform.Core.Metrics;

/// <summary>
/// The dashboard's live figures, read from the same instruments an OpenTelemetry exporter sees: replies in progress and
/// busy refusals from this host's <see cref="ChatPlatformMetrics"/>, and over the last <see cref="Window"/> the time to
/// first token and the decode rate from the GenAI instruments of Microsoft.Extensions.AI's OpenTelemetry middleware.
/// </summary>
/// <remarks>
/// The GenAI middleware creates its meter by name rather than through a host's meter factory, so its figures are the
/// process's (one host per process outside tests). The samples kept here are the reader's window, not a second record.
/// </remarks>
public sealed class ChatMetrics : IDisposable
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);
    public const int MaxSamples = 10_000;

    public const string TimeToFirstChunkName = "gen_ai.client.operation.time_to_first_chunk";
    public const string OperationDurationName = "gen_ai.client.operation.duration";
    public const string TokenUsageName = "gen_ai.client.token.usage";

    private static readonly object InFlight = new(), Busy = new(), FirstChunk = new(), Duration = new(), Tokens = new();

    private readonly TimeProvider _time;
    private readonly IMeterFactory _meters;
    private readonly MeterListener _listener;
    private readonly Queue<Sample> _firstChunks = new(), _durations = new(), _outputTokens = new();
    private long _busyRejections;
    private int _inFlight;

    public ChatMetrics(IMeterFactory meters, TimeProvider time)
    {
        _meters = meters;
        _time = time;
        _listener = new MeterListener { InstrumentPublished = Subscribe };
        _listener.SetMeasurementEventCallback<int>((_, value, tags, state) => OnMeasurement(value, tags, state));
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) => OnMeasurement(value, tags, state));
        _listener.SetMeasurementEventCallback<double>((_, value, tags, state) => OnMeasurement(value, tags, state));
        _listener.Start();
    }

    private void Subscribe(Instrument instrument, MeterListener listener)
    {
        var state = instrument.Meter.Name switch
        {
            ChatPlatformMetrics.MeterName when ReferenceEquals(instrument.Meter.Scope, _meters) => instrument.Name switch
            {
                ChatPlatformMetrics.InFlightName => InFlight,
                ChatPlatformMetrics.BusyRefusalsName => Busy,
                _ => null,
            },
            ChatPlatformMetrics.GenAiSourceName => instrument.Name switch
            {
                TimeToFirstChunkName => FirstChunk,
                OperationDurationName => Duration,
                TokenUsageName => Tokens,
                _ => null,
            },
            _ => null,
        };
        if (state is not null) listener.EnableMeasurementEvents(instrument, state);
    }

    private void OnMeasurement(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (state == InFlight) Interlocked.Add(ref _inFlight, (int)value);
        else if (state == Busy) Interlocked.Add(ref _busyRejections, (long)value);
        else if (state == FirstChunk) Add(_firstChunks, value);
        // Failed calls and input tokens say nothing about the decode rate.
        else if (state == Duration && !Has(tags, "error.type")) Add(_durations, value);
        else if (state == Tokens && Has(tags, "gen_ai.token.type", "output")) Add(_outputTokens, value);
    }

    private static bool Has(ReadOnlySpan<KeyValuePair<string, object?>> tags, string key, string? value = null)
    {
        foreach (var tag in tags)
            if (tag.Key == key && (value is null || value.Equals(tag.Value as string, StringComparison.Ordinal)))
                return true;
        return false;
    }

    private void Add(Queue<Sample> samples, double value)
    {
        var now = _time.GetUtcNow();
        lock (samples)
        {
            samples.Enqueue(new Sample(now, value));
            Trim(samples, now);
        }
    }

    public ChatMetricsSnapshot Snapshot()
    {
        var now = _time.GetUtcNow();
        var firstChunks = Read(_firstChunks, now);
        var durations = Read(_durations, now);
        var tokens = Read(_outputTokens, now);
        var ttft = firstChunks.Select(s => s.Value * 1000).Order().ToArray();
        // Decode rate: the first token of each reply belongs to its time to first token, the rest to generation.
        var generated = tokens.Sum(s => s.Value) - firstChunks.Length;
        var seconds = durations.Sum(s => s.Value) - firstChunks.Sum(s => s.Value);
        return new ChatMetricsSnapshot(
            now,
            Math.Max(0, Volatile.Read(ref _inFlight)),
            Interlocked.Read(ref _busyRejections),
            firstChunks.Length,
            Percentile(ttft, 0.50),
            Percentile(ttft, 0.95),
            firstChunks.Length > 0 && seconds > 0 ? Math.Max(0, generated) / seconds : null);
    }

    /// <summary>Nearest-rank percentile of sorted values; null when there are none.</summary>
    public static double? Percentile(IReadOnlyList<double> sorted, double p)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0) return null;
        var rank = (int)Math.Ceiling(p * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    public void Dispose() => _listener.Dispose();

    private static Sample[] Read(Queue<Sample> samples, DateTimeOffset now)
    {
        lock (samples)
        {
            Trim(samples, now);
            return [.. samples];
        }
    }

    private static void Trim(Queue<Sample> samples, DateTimeOffset now)
    {
        while (samples.Count > 0 && (samples.Count > MaxSamples || now - samples.Peek().At > Window))
            samples.Dequeue();
    }

    private readonly record struct Sample(DateTimeOffset At, double Value);
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
