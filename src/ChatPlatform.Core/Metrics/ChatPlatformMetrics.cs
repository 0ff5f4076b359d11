using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ChatPlatform.Core.Metrics;

/// <summary>
/// The platform's own instruments on the <see cref="MeterName"/> meter: replies by persona, channel and finish reason;
/// rail hits by family and action; replies in progress, the local core's wait queue and busy refusals; prompt-cache
/// hits and misses; knowledge search time. Inference itself is measured by Microsoft.Extensions.AI's OpenTelemetry
/// middleware (<see cref="GenAiSourceName"/>). Attributes are closed sets (persona ids, channel and rail names, reasons):
/// never message text, user ids or conversation ids.
/// </summary>
public sealed class ChatPlatformMetrics
{
    public const string MeterName = "ChatPlatform";

    /// <summary>The meter and activity source of the GenAI semantic conventions (Microsoft.Extensions.AI's default name).</summary>
    public const string GenAiSourceName = "Experimental.Microsoft.Extensions.AI";

    public const string RepliesName = "chatplatform.replies";
    public const string RailHitsName = "chatplatform.rail.hits";
    public const string InFlightName = "chatplatform.replies.in_flight";
    public const string QueueDepthName = "chatplatform.inference.queue.depth";
    public const string BusyRefusalsName = "chatplatform.inference.busy_refusals";
    public const string PromptCacheName = "chatplatform.inference.prompt_cache.lookups";
    public const string KnowledgeSearchName = "chatplatform.knowledge.search.duration";

    public const string PersonaTag = "chatplatform.persona";
    public const string ChannelTag = "chatplatform.channel";
    public const string FinishReasonTag = "chatplatform.finish_reason";
    public const string RailTag = "chatplatform.rail";
    public const string ActionTag = "chatplatform.action";
    public const string CacheResultTag = "chatplatform.cache.result";

    private readonly Counter<long> _replies;
    private readonly Counter<long> _railHits;
    private readonly UpDownCounter<int> _inFlight;
    private readonly Counter<long> _busyRefusals;
    private readonly Counter<long> _promptCache;
    private readonly Histogram<double> _knowledgeSearch;
    private Func<int>? _queueDepth;

    public ChatPlatformMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        Meter = meters.Create(MeterName);
        _replies = Meter.CreateCounter<long>(RepliesName, "{reply}", "Replies sent, by persona, channel and finish reason.");
        _railHits = Meter.CreateCounter<long>(RailHitsName, "{hit}", "Safety rails that acted on a message, by rail family and action.");
        _inFlight = Meter.CreateUpDownCounter<int>(InFlightName, "{reply}", "Replies admitted or waiting for a slot in the inference pipeline.");
        _busyRefusals = Meter.CreateCounter<long>(BusyRefusalsName, "{request}", "Turns refused because every slot and the wait queue were full.");
        _promptCache = Meter.CreateCounter<long>(PromptCacheName, "{lookup}", "Prompts started from the prompt cache (hit) or read from scratch (miss).");
        _knowledgeSearch = Meter.CreateHistogram<double>(KnowledgeSearchName, "s", "Time to search a persona's documents for one message.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
        Meter.CreateObservableGauge(QueueDepthName, ObserveQueueDepth, "{request}", "Requests waiting for a slot of the local inference core.");
    }

    /// <summary>The meter every instrument above belongs to; its scope is the host's meter factory.</summary>
    public Meter Meter { get; }

    public void RecordReply(string persona, string channel, string finishReason) =>
        _replies.Add(1, new TagList { { PersonaTag, persona }, { ChannelTag, ChannelName(channel) }, { FinishReasonTag, finishReason } });

    public void RecordRailHit(string rail, string action) =>
        _railHits.Add(1, new TagList { { RailTag, rail }, { ActionTag, action } });

    public void ReplyStarted() => _inFlight.Add(1);

    public void ReplyEnded() => _inFlight.Add(-1);

    public void RecordBusyRefusal() => _busyRefusals.Add(1);

    public void RecordPromptCache(bool hit) => _promptCache.Add(1, new KeyValuePair<string, object?>(CacheResultTag, hit ? "hit" : "miss"));

    public void RecordKnowledgeSearch(string persona, TimeSpan elapsed) =>
        _knowledgeSearch.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>(PersonaTag, persona));

    /// <summary>Reports the local core's wait queue (the remote backend has none, so nothing is reported for it).</summary>
    public void ObserveQueue(Func<int> depth) => _queueDepth = depth;

    private IEnumerable<Measurement<int>> ObserveQueueDepth() =>
        _queueDepth is { } depth ? [new Measurement<int>(depth())] : [];

    /// <summary>
    /// The channel as packs name it (<c>web</c>, <c>api</c>, <c>teams</c>, <c>slack</c>, <c>cli</c>), <c>console</c> for
    /// the admin console's trial turns: a closed set, whatever a Bot Framework channel id says.
    /// </summary>
    public static string ChannelName(string turnChannel) => Personas.ChannelNames.OfTurnChannel(turnChannel) ?? "console";
}
