using System.Globalization;
using ChatPlatform.Core.Metrics;
using ChatPlatform.Data.Dashboard;

namespace ChatPlatform.Admin.Operations;

/// <summary>One chart's data: x labels and named series of equal length.</summary>
public sealed record ChartFigures(IReadOnlyList<string> Labels, IReadOnlyList<(string Name, double[] Values)> Series);

/// <summary>The dashboard's figures, formatted, and its chart data, computed from the store and the live pipeline.</summary>
public sealed class DashboardView(StoreFigures store, ChatMetricsSnapshot live, int slots)
{
    public StoreFigures Store { get; } = store;
    public ChatMetricsSnapshot Live { get; } = live;

    /// <summary>Requests waiting for a slot: those in flight beyond the concurrent slots.</summary>
    public int Waiting => Math.Max(0, Live.InFlight - slots);

    public int Active => Math.Min(Live.InFlight, slots);

    public string TokensPerSecond => Number(Live.TokensPerSecond ?? Store.StoredTokensPerSecond, "0.0");

    public string TimeToFirstTokenP50 => Milliseconds(Live.TimeToFirstTokenP50Ms);

    public string TimeToFirstTokenP95 => Milliseconds(Live.TimeToFirstTokenP95Ms);

    public string FeedbackRatio => Store.PositiveFeedbackRatio is { } r
        ? string.Create(CultureInfo.InvariantCulture, $"{r * 100:0}% good ({Store.PositiveFeedback} good, {Store.NegativeFeedback} bad)")
        : "no ratings";

    public int Conversations => Store.Hourly.Sum(h => h.Conversations);

    public int Messages => Store.Hourly.Sum(h => h.Messages);

    /// <summary>The hours of the span, oldest first, as chart labels (UTC).</summary>
    public IReadOnlyList<DateTimeOffset> Hours
    {
        get
        {
            var hours = new List<DateTimeOffset>();
            for (var h = Store.From; h <= Store.To; h = h.AddHours(1)) hours.Add(h);
            return hours;
        }
    }

    /// <summary>Messages per hour, one series per persona.</summary>
    public ChartFigures MessagesPerHourByPersona() => PerHour(h => h.Persona, h => h.Messages);

    /// <summary>Conversations started per hour, one series per channel.</summary>
    public ChartFigures ConversationsPerHourByChannel() => PerHour(h => h.Channel, h => h.Conversations);

    /// <summary>Safety events by rail, most frequent first.</summary>
    public ChartFigures SafetyEventsByRail()
    {
        var rails = Store.SafetyEventsByRail.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        return new ChartFigures([.. rails.Select(kv => kv.Key)], [("events", [.. rails.Select(kv => (double)kv.Value)])]);
    }

    private ChartFigures PerHour(Func<HourlyCount, string> key, Func<HourlyCount, int> value)
    {
        var hours = Hours;
        var index = hours.Select((h, i) => (h, i)).ToDictionary(x => x.h, x => x.i);
        var series = Store.Hourly.GroupBy(key).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var values = new double[hours.Count];
            foreach (var h in g)
                if (index.TryGetValue(h.Hour, out var i)) values[i] += value(h);
            return (g.Key, values);
        }).ToList();
        // Label every hour of a short span, every third of a day, and each midnight of a week, so labels stay readable.
        var step = hours.Count <= 12 ? 1 : hours.Count <= 48 ? 3 : 24;
        var format = step == 24 ? "MM-dd" : "HH:00";
        return new ChartFigures([.. hours.Select(h => h.Hour % step == 0 ? h.ToString(format, CultureInfo.InvariantCulture) : "")], series);
    }

    private static string Milliseconds(double? ms) => ms is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v:0} ms") : "–";

    private static string Number(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "–";
}
