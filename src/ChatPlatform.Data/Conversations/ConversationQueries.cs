using ChatPlatform.Data.Safety;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Data.Conversations;

/// <summary>What a conversation was flagged for, as reviewers filter by it.</summary>
public enum ConversationMark
{
    /// <summary>The crisis (or medical emergency) protocol was engaged.</summary>
    Crisis,
    /// <summary>A rail answered instead of the model, or an output rail cut a reply (finish reason <c>safety</c> or <c>content_filter</c>).</summary>
    Blocked,
    /// <summary>The user rated a reply or the conversation as bad.</summary>
    NegativeFeedback,
}

/// <summary>
/// A search over stored conversations. Every criterion is optional; <paramref name="From"/>/<paramref name="To"/> select
/// conversations active in that span; <paramref name="Page"/> counts from 0.
/// </summary>
public sealed record ConversationFilter(
    string? Persona = null,
    string? Channel = null,
    DateTimeOffset? From = null,
    DateTimeOffset? To = null,
    ConversationMark? Flag = null,
    string? UserId = null,
    int Page = 0,
    int PageSize = 25)
{
    public const int MaxPageSize = 200;
}

public sealed record ConversationSummary(
    long Id, string Channel, string ExternalId, string Persona, string Locale, string? UserId, int MessageCount,
    bool Crisis, bool Blocked, bool NegativeFeedback, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record ConversationPage(IReadOnlyList<ConversationSummary> Items, int Total);

/// <summary>A safety event as a reviewer sees it.</summary>
public sealed record SafetyEventView(
    long Id, long? ConversationId, string Channel, string? ConversationExternalId, string Persona, string Rail, string Severity,
    string Action, string? Excerpt, DateTimeOffset At, string ReviewState, string? Reviewer, DateTimeOffset? ReviewedAt, string? ReviewNote)
{
    internal static SafetyEventView From(SafetyEventRecord s) => new(
        s.Id, s.ConversationId, s.Channel, s.ExternalConversationId, s.Persona, s.Rail, s.Severity, s.Action, s.Excerpt, s.At,
        s.ReviewState, s.Reviewer, s.ReviewedAt, s.ReviewNote);
}

/// <summary>
/// One message with the safety verdicts stored on it and the safety events raised while it was handled
/// (an input rail's event belongs to the user message after it, an output rail's to the reply).
/// </summary>
public sealed record TranscriptMessage(
    long Id, int Sequence, string Role, string Text, DateTimeOffset CreatedAt, int? Tokens, double? LatencyMs, string? FinishReason,
    IReadOnlyList<string> Verdicts, IReadOnlyList<SafetyEventView> Events, int? Rating);

public sealed record Transcript(ConversationSummary Conversation, IReadOnlyList<TranscriptMessage> Messages);

/// <summary>Read-only searches over conversations for the admin console.</summary>
public sealed class ConversationQueries(IDbContextFactory<ChatDbContext> contexts)
{
    /// <summary>Finish reasons that mean a safety rail answered or cut the reply.</summary>
    public static readonly IReadOnlyList<string> BlockedFinishReasons = ["safety", "content_filter"];

    public async Task<ConversationPage> SearchAsync(ConversationFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.Page < 0) throw new ArgumentOutOfRangeException(nameof(filter), "The page number must be 0 or more.");
        if (filter.PageSize is < 1 or > ConversationFilter.MaxPageSize)
            throw new ArgumentOutOfRangeException(nameof(filter), $"The page size must be 1 to {ConversationFilter.MaxPageSize}.");
        if (filter.From is { } f && filter.To is { } t && f > t)
            throw new ArgumentException("The date range ends before it starts.", nameof(filter));

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var query = db.Conversations.AsNoTracking().AsQueryable();
        if (!string.IsNullOrWhiteSpace(filter.Persona)) query = query.Where(c => c.PersonaId == filter.Persona);
        if (!string.IsNullOrWhiteSpace(filter.Channel)) query = query.Where(c => c.Channel == filter.Channel);
        if (!string.IsNullOrWhiteSpace(filter.UserId)) query = query.Where(c => c.UserId == filter.UserId);
        if (filter.From is { } from) query = query.Where(c => c.UpdatedAt >= from.ToUniversalTime());
        if (filter.To is { } to) query = query.Where(c => c.CreatedAt <= to.ToUniversalTime());
        var blocked = BlockedFinishReasons;
        query = filter.Flag switch
        {
            ConversationMark.Crisis => query.Where(c => c.CrisisEngaged),
            ConversationMark.Blocked => query.Where(c => db.Messages.Any(m => m.ConversationId == c.Id && m.FinishReason != null && blocked.Contains(m.FinishReason))),
            ConversationMark.NegativeFeedback => query.Where(c => db.Feedback.Any(r => r.ConversationId == c.Id && r.Rating < 0)),
            _ => query,
        };

        var total = await query.CountAsync(cancellationToken);
        var items = await query
            .OrderByDescending(c => c.UpdatedAt).ThenByDescending(c => c.Id)
            .Skip(filter.Page * filter.PageSize).Take(filter.PageSize)
            .Select(c => new ConversationSummary(
                c.Id, c.Channel, c.ExternalId, c.PersonaId, c.Locale, c.UserId, c.MessageCount, c.CrisisEngaged,
                db.Messages.Any(m => m.ConversationId == c.Id && m.FinishReason != null && blocked.Contains(m.FinishReason)),
                db.Feedback.Any(r => r.ConversationId == c.Id && r.Rating < 0),
                c.CreatedAt, c.UpdatedAt))
            .ToListAsync(cancellationToken);
        return new ConversationPage(items, total);
    }

    /// <summary>The conversation's messages with their verdicts, events and ratings; null when it does not exist.</summary>
    public async Task<Transcript?> GetTranscriptAsync(long conversationId, CancellationToken cancellationToken)
    {
        var page = await SearchByIdAsync(conversationId, cancellationToken);
        if (page is null) return null;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var messages = await db.Messages.AsNoTracking().Where(m => m.ConversationId == conversationId).OrderBy(m => m.Sequence).ToListAsync(cancellationToken);
        var events = (await db.SafetyEvents.AsNoTracking().Where(s => s.ConversationId == conversationId).ToListAsync(cancellationToken))
            .OrderBy(s => s.At).ThenBy(s => s.Id).ToList();
        var ratings = await db.Feedback.AsNoTracking().Where(f => f.ConversationId == conversationId && f.MessageId != null)
            .ToDictionaryAsync(f => f.MessageId!.Value, f => f.Rating, cancellationToken);

        var byMessage = messages.ToDictionary(m => m.Id, _ => new List<SafetyEventView>());
        foreach (var e in events)
        {
            // Rails record their event just before the message they acted on is stored.
            var owner = messages.FirstOrDefault(m => m.CreatedAt >= e.At) ?? messages.LastOrDefault();
            if (owner is not null) byMessage[owner.Id].Add(SafetyEventView.From(e));
        }
        return new Transcript(page, [.. messages.Select(m => new TranscriptMessage(
            m.Id, m.Sequence, m.Role, m.Text, m.CreatedAt, m.Tokens, m.LatencyMs, m.FinishReason,
            m.SafetyVerdicts is { Length: > 0 } v ? v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [],
            byMessage[m.Id], ratings.TryGetValue(m.Id, out var r) ? r : null))]);
    }

    /// <summary>The personas and channels that occur in stored conversations, for filter choices.</summary>
    public async Task<(IReadOnlyList<string> Personas, IReadOnlyList<string> Channels)> GetFacetsAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var personas = await db.Conversations.AsNoTracking().Select(c => c.PersonaId).Distinct().OrderBy(p => p).ToListAsync(cancellationToken);
        var channels = await db.Conversations.AsNoTracking().Select(c => c.Channel).Distinct().OrderBy(p => p).ToListAsync(cancellationToken);
        return (personas, channels);
    }

    private async Task<ConversationSummary?> SearchByIdAsync(long id, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var blocked = BlockedFinishReasons;
        return await db.Conversations.AsNoTracking().Where(c => c.Id == id)
            .Select(c => new ConversationSummary(
                c.Id, c.Channel, c.ExternalId, c.PersonaId, c.Locale, c.UserId, c.MessageCount, c.CrisisEngaged,
                db.Messages.Any(m => m.ConversationId == c.Id && m.FinishReason != null && blocked.Contains(m.FinishReason)),
                db.Feedback.Any(r => r.ConversationId == c.Id && r.Rating < 0),
                c.CreatedAt, c.UpdatedAt))
            .FirstOrDefaultAsync(cancellationToken);
    }
}
