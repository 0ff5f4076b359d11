namespace ChatPlatform.Core.Safety;

/// <summary>How serious a safety event is; high ones may notify an on-call human.</summary>
public enum SafetySeverity
{
    Low,
    Medium,
    High,
}

/// <summary>Something a safety rail saw and did. <see cref="Excerpt"/> is already redacted.</summary>
public sealed record SafetyEvent(
    string Channel,
    string ConversationId,
    string Persona,
    string Rail,
    SafetySeverity Severity,
    string Action,
    string? Excerpt,
    DateTimeOffset At);

/// <summary>Where safety events go (the store, a queue for reviewers). Must not block the chat path for long.</summary>
public interface ISafetyEventSink
{
    ValueTask RecordAsync(SafetyEvent safetyEvent, CancellationToken cancellationToken);
}

/// <summary>Keeps events in memory: the terminal chat and tests use it.</summary>
public sealed class InMemorySafetyEventSink : ISafetyEventSink
{
    private readonly List<SafetyEvent> _events = [];

    public IReadOnlyList<SafetyEvent> Events
    {
        get { lock (_events) return [.. _events]; }
    }

    public ValueTask RecordAsync(SafetyEvent safetyEvent, CancellationToken cancellationToken)
    {
        lock (_events) _events.Add(safetyEvent);
        return ValueTask.CompletedTask;
    }
}

/// <summary>A reviewer sends an event on to on-call staff, with a note of their own (never the user's text).</summary>
public sealed record SafetyEscalation(string By, string? Note);

/// <summary>Sends a notice about a safety event to a webhook (the on-call system).</summary>
public interface ISafetyNotifier
{
    /// <summary>Posts the notice; returns null when it was delivered, otherwise why not (HTTP status or error).</summary>
    Task<string?> NotifyAsync(Uri webhook, SafetyEvent safetyEvent, SafetyEscalation? escalation, CancellationToken cancellationToken);
}
