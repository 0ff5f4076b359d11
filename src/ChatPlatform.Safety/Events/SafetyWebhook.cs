using ChatPlatform.Core.Safety;

namespace ChatPlatform.Safety.Events;

/// <summary>
/// Posts a JSON notice about a safety event to a webhook: ids, rail, severity, action and time, never the excerpt
/// (on-call staff open the conversation in the admin console). The crisis notice and a reviewer's escalation both use
/// it, through the <see cref="WebhookClient"/> that decides which hosts and addresses may be reached.
/// </summary>
public sealed class SafetyWebhook(WebhookClient client) : ISafetyNotifier
{
    /// <summary>Returns null when the webhook accepted the notice, otherwise the reason it was not delivered.</summary>
    public Task<string?> NotifyAsync(Uri webhook, SafetyEvent safetyEvent, SafetyEscalation? escalation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(webhook);
        ArgumentNullException.ThrowIfNull(safetyEvent);
        return client.PostJsonAsync(webhook, new
        {
            safetyEvent.Channel, safetyEvent.ConversationId, safetyEvent.Persona, safetyEvent.Rail,
            Severity = safetyEvent.Severity.ToString(), safetyEvent.Action, safetyEvent.At,
            Escalated = escalation is not null, EscalatedBy = escalation?.By, Note = escalation?.Note,
        }, cancellationToken);
    }
}
