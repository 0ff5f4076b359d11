using System.Collections.Concurrent;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Safety.Events;

/// <summary>
/// Keeps recent safety events in memory (until the store records them), logs each one without its text, and
/// for a high-severity event posts a JSON notice to the persona's <c>crisis.notifyWebhook</c> when one is set.
/// The notice is sent in the background; a failing or refused webhook (see <see cref="WebhookClient"/>) is logged with
/// its reason and never delays or breaks the chat.
/// </summary>
public sealed partial class NotifyingSafetyEventSink(
    IPersonaCatalog personas, ISafetyNotifier? notifier, ILogger<NotifyingSafetyEventSink> logger) : ISafetyEventSink
{
    public const int MaxRecent = 1000;
    private readonly Queue<SafetyEvent> _recent = new();
    private readonly ConcurrentDictionary<Task, byte> _inFlight = new();

    public IReadOnlyList<SafetyEvent> Recent
    {
        get { lock (_recent) return [.. _recent]; }
    }

    public ValueTask RecordAsync(SafetyEvent safetyEvent, CancellationToken cancellationToken)
    {
        lock (_recent)
        {
            _recent.Enqueue(safetyEvent);
            while (_recent.Count > MaxRecent) _recent.Dequeue();
        }
        LogEvent(logger, safetyEvent.Severity, safetyEvent.Rail, safetyEvent.Action, safetyEvent.Persona, safetyEvent.Channel, safetyEvent.ConversationId);

        if (safetyEvent.Severity != SafetySeverity.High || notifier is null) return ValueTask.CompletedTask;
        if (personas.Find(safetyEvent.Persona)?.Safety.Crisis.NotifyWebhook is not { } webhook) return ValueTask.CompletedTask;
        if (!Uri.TryCreate(webhook, UriKind.Absolute, out var url))
        {
            LogWebhookFailed(logger, safetyEvent.Persona, "crisis.notifyWebhook is not an absolute URL");
            return ValueTask.CompletedTask;
        }

        // The notice goes out in the background: a person in crisis never waits for the on-call system.
        var notice = NotifyAsync(notifier, url, safetyEvent);
        _inFlight.TryAdd(notice, 0);
        _ = notice.ContinueWith(t => _inFlight.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return ValueTask.CompletedTask;
    }

    /// <summary>Completes when every webhook notice sent so far has been delivered or has failed (and was logged).</summary>
    public Task FlushAsync() => Task.WhenAll(_inFlight.Keys);

    private async Task NotifyAsync(ISafetyNotifier sender, Uri webhook, SafetyEvent safetyEvent)
    {
        if (await sender.NotifyAsync(webhook, safetyEvent, escalation: null, CancellationToken.None) is { } failure)
            LogWebhookFailed(logger, safetyEvent.Persona, failure);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Safety event {Severity} {Rail} {Action} persona={Persona} channel={Channel} conversation={ConversationId}")]
    private static partial void LogEvent(ILogger logger, SafetySeverity severity, string rail, string action, string persona, string channel, string conversationId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Crisis webhook for persona {Persona} not delivered: {Reason}")]
    private static partial void LogWebhookFailed(ILogger logger, string persona, string reason);
}
