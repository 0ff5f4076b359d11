using ChatPlatform.Core.Safety;
using ChatPlatform.Data.Safety;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Data.Dashboard;

/// <summary>Conversations started and messages stored in one hour (UTC) for one persona on one channel.</summary>
public sealed record HourlyCount(DateTimeOffset Hour, string Persona, string Channel, int Conversations, int Messages);

/// <summary>
/// What the store says about the last hours: hourly counts, safety events by rail, feedback (good and bad ratings),
/// open high-severity events, and the output tokens per second of stored replies (tokens over reply time).
/// </summary>
public sealed record StoreFigures(
    DateTimeOffset From,
    DateTimeOffset To,
    IReadOnlyList<HourlyCount> Hourly,
    IReadOnlyDictionary<string, int> SafetyEventsByRail,
    int PositiveFeedback,
    int NegativeFeedback,
    int OpenHighSeverity,
    double? StoredTokensPerSecond)
{
    /// <summary>Share of good ratings among good and bad ones; null without ratings.</summary>
    public double? PositiveFeedbackRatio => PositiveFeedback + NegativeFeedback is var n and > 0 ? (double)PositiveFeedback / n : null;
}

public sealed class DashboardQueries(IDbContextFactory<ChatDbContext> contexts, TimeProvider time)
{
    public const int MaxHours = 24 * 14;

    /// <summary>Figures for the <paramref name="hours"/> hours up to now (the current hour included).</summary>
    public async Task<StoreFigures> GetAsync(int hours, CancellationToken cancellationToken)
    {
        if (hours is < 1 or > MaxHours) throw new ArgumentOutOfRangeException(nameof(hours), $"The span must be 1 to {MaxHours} hours.");
        var to = time.GetUtcNow();
        var since = Hour(to).AddHours(1 - hours);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);

        var started = await db.Conversations.AsNoTracking().Where(c => c.CreatedAt >= since)
            .Select(c => new { c.PersonaId, c.Channel, c.CreatedAt }).ToListAsync(cancellationToken);
        var messages = await (
            from m in db.Messages.AsNoTracking()
            join c in db.Conversations.AsNoTracking() on m.ConversationId equals c.Id
            where m.CreatedAt >= since
            select new { c.PersonaId, c.Channel, m.CreatedAt, m.Role, m.Tokens, m.LatencyMs }).ToListAsync(cancellationToken);

        var hourly = started.Select(c => (Hour: Hour(c.CreatedAt), c.PersonaId, c.Channel, Conversation: 1, Message: 0))
            .Concat(messages.Select(m => (Hour: Hour(m.CreatedAt), m.PersonaId, m.Channel, Conversation: 0, Message: 1)))
            .GroupBy(x => (x.Hour, x.PersonaId, x.Channel))
            .Select(g => new HourlyCount(g.Key.Hour, g.Key.PersonaId, g.Key.Channel, g.Sum(x => x.Conversation), g.Sum(x => x.Message)))
            .OrderBy(h => h.Hour).ThenBy(h => h.Persona, StringComparer.Ordinal).ThenBy(h => h.Channel, StringComparer.Ordinal)
            .ToList();

        var replies = messages.Where(m => m.Role == "assistant" && m.Tokens > 0 && m.LatencyMs > 0).ToList();
        var replySeconds = replies.Sum(m => m.LatencyMs!.Value) / 1000;
        double? tokensPerSecond = replySeconds > 0 ? replies.Sum(m => m.Tokens!.Value) / replySeconds : null;

        var rails = await db.SafetyEvents.AsNoTracking().Where(s => s.At >= since)
            .GroupBy(s => s.Rail).Select(g => new { Rail = g.Key, Count = g.Count() })
            .ToDictionaryAsync(x => x.Rail, x => x.Count, StringComparer.Ordinal, cancellationToken);
        var positive = await db.Feedback.CountAsync(f => f.CreatedAt >= since && f.Rating > 0, cancellationToken);
        var negative = await db.Feedback.CountAsync(f => f.CreatedAt >= since && f.Rating < 0, cancellationToken);
        var openHigh = await db.SafetyEvents.CountAsync(s => s.ReviewState == SafetyReviewState.Pending && s.Severity == nameof(SafetySeverity.High), cancellationToken);

        return new StoreFigures(since, to, hourly, rails, positive, negative, openHigh, tokensPerSecond);
    }

    /// <summary>The start of the UTC hour holding <paramref name="at"/>.</summary>
    public static DateTimeOffset Hour(DateTimeOffset at)
    {
        var utc = at.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }
}
