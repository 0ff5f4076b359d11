using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using ChatPlatform.Data.Audit;
using ChatPlatform.Data.Conversations;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Data.Safety;

/// <summary>Settings of the safety review queue (<c>ChatPlatform:SafetyReview</c>).</summary>
public sealed class SafetyReviewOptions
{
    public const string SectionName = "ChatPlatform:SafetyReview";

    /// <summary>Where an escalation is posted; without it, the event's persona's <c>crisis.notifyWebhook</c>.</summary>
    public string? EscalationWebhook { get; set; }
}

/// <summary>Which safety events the queue shows; <paramref name="Page"/> counts from 0.</summary>
public sealed record SafetyEventFilter(bool OpenOnly = true, string? Severity = null, string? Rail = null, string? Persona = null, int Page = 0, int PageSize = 25);

public sealed record SafetyEventPage(IReadOnlyList<SafetyEventView> Items, int Total);

/// <summary>What an escalation did: <paramref name="Delivered"/> or not, and why not.</summary>
public sealed record EscalationResult(bool Delivered, string? Problem);

/// <summary>
/// The reviewers' queue: safety events by severity, newest first; marking reviewed or dismissed with a note, and
/// escalating to on-call staff through the same webhook notice the crisis protocol sends. Every change is audited.
/// </summary>
public sealed class SafetyReview(
    IDbContextFactory<ChatDbContext> contexts, ISafetyNotifier notifier, IPersonaCatalog personas, SafetyReviewOptions options, TimeProvider time)
{
    public const int MaxNoteLength = 2000;

    /// <summary>Rank of a severity for ordering: High first.</summary>
    public static int Rank(string severity) => severity switch { "High" => 2, "Medium" => 1, _ => 0 };

    public async Task<SafetyEventPage> ListAsync(SafetyEventFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.Page < 0 || filter.PageSize is < 1 or > ConversationFilter.MaxPageSize)
            throw new ArgumentOutOfRangeException(nameof(filter), $"The page must be 0 or more and the page size 1 to {ConversationFilter.MaxPageSize}.");
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var query = db.SafetyEvents.AsNoTracking().AsQueryable();
        if (filter.OpenOnly) query = query.Where(s => s.ReviewState == SafetyReviewState.Pending);
        if (!string.IsNullOrWhiteSpace(filter.Severity)) query = query.Where(s => s.Severity == filter.Severity);
        if (!string.IsNullOrWhiteSpace(filter.Rail)) query = query.Where(s => s.Rail == filter.Rail);
        if (!string.IsNullOrWhiteSpace(filter.Persona)) query = query.Where(s => s.Persona == filter.Persona);
        var total = await query.CountAsync(cancellationToken);
        var rows = await query
            .OrderByDescending(s => s.Severity == "High" ? 2 : s.Severity == "Medium" ? 1 : 0)
            .ThenByDescending(s => s.At).ThenByDescending(s => s.Id)
            .Skip(filter.Page * filter.PageSize).Take(filter.PageSize)
            .ToListAsync(cancellationToken);
        return new SafetyEventPage([.. rows.Select(SafetyEventView.From)], total);
    }

    /// <summary>High-severity events nobody has reviewed yet.</summary>
    public async Task<int> CountOpenHighAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.SafetyEvents.CountAsync(s => s.ReviewState == SafetyReviewState.Pending && s.Severity == nameof(SafetySeverity.High), cancellationToken);
    }

    public async Task<SafetyEventView?> GetAsync(long id, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var row = await db.SafetyEvents.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, cancellationToken);
        return row is null ? null : SafetyEventView.From(row);
    }

    /// <summary>Closes the event as reviewed (or dismissed) by <paramref name="reviewer"/>; false when it does not exist.</summary>
    public async Task<bool> MarkReviewedAsync(long id, string reviewer, string? note, bool dismiss, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reviewer);
        CheckNote(note);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var row = await db.SafetyEvents.FirstOrDefaultAsync(s => s.Id == id, cancellationToken);
        if (row is null) return false;
        var now = time.GetUtcNow();
        row.ReviewState = dismiss ? SafetyReviewState.Dismissed : SafetyReviewState.Reviewed;
        row.Reviewer = reviewer;
        row.ReviewedAt = now;
        if (!string.IsNullOrWhiteSpace(note)) row.ReviewNote = note.Trim();
        AuditLog.Add(db, now, reviewer, dismiss ? "safety.dismiss" : "safety.review", $"safety-event:{id}", new { row.Rail, row.Severity });
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    /// <summary>
    /// Posts the event to the escalation webhook (<see cref="SafetyReviewOptions.EscalationWebhook"/>, else the persona's
    /// crisis webhook) with the reviewer's note. A delivered escalation closes the event as escalated; either way it is audited.
    /// </summary>
    public async Task<EscalationResult?> EscalateAsync(long id, string reviewer, string? note, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reviewer);
        CheckNote(note);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var row = await db.SafetyEvents.FirstOrDefaultAsync(s => s.Id == id, cancellationToken);
        if (row is null) return null;
        var target = options.EscalationWebhook is { Length: > 0 } configured ? configured : personas.Find(row.Persona)?.Safety.Crisis.NotifyWebhook;
        var now = time.GetUtcNow();
        EscalationResult result;
        if (string.IsNullOrWhiteSpace(target) || !Uri.TryCreate(target, UriKind.Absolute, out var webhook))
        {
            result = new EscalationResult(false,
                $"No escalation webhook is configured: set {SafetyReviewOptions.SectionName}:EscalationWebhook or the persona's crisis.notifyWebhook.");
        }
        else
        {
            var safetyEvent = new SafetyEvent(row.Channel, row.ExternalConversationId ?? "", row.Persona, row.Rail,
                Enum.TryParse<SafetySeverity>(row.Severity, out var severity) ? severity : SafetySeverity.High, row.Action, null, row.At);
            var problem = await notifier.NotifyAsync(webhook, safetyEvent, new SafetyEscalation(reviewer, note), cancellationToken);
            result = new EscalationResult(problem is null, problem is null ? null : $"The escalation was not delivered: {problem}.");
        }
        if (result.Delivered)
        {
            row.ReviewState = SafetyReviewState.Escalated;
            row.Reviewer = reviewer;
            row.ReviewedAt = now;
            if (!string.IsNullOrWhiteSpace(note)) row.ReviewNote = note.Trim();
        }
        AuditLog.Add(db, now, reviewer, "safety.escalate", $"safety-event:{id}", new { result.Delivered, row.Rail, row.Severity });
        await db.SaveChangesAsync(cancellationToken);
        return result;
    }

    private static void CheckNote(string? note)
    {
        if (note is { Length: > MaxNoteLength })
            throw new ArgumentException($"The note is longer than {MaxNoteLength} characters.", nameof(note));
    }
}
