using System.Net.Http.Json;
using ChatPlatform.Core.Safety;

namespace ChatPlatform.Safety.Events;

/// <summary>
/// Posts a JSON notice about a safety event to a webhook: ids, rail, severity, action and time, never the excerpt
/// (on-call staff open the conversation in the admin console). The crisis notice and a reviewer's escalation both use it.
/// </summary>
/// <param name="timeout">How long the webhook may take to answer; <see cref="Timeout"/> when not given.</param>
public sealed class SafetyWebhook(IHttpClientFactory httpClients, TimeSpan? timeout = null) : ISafetyNotifier
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public Task<string?> NotifyAsync(Uri webhook, SafetyEvent safetyEvent, SafetyEscalation? escalation, CancellationToken cancellationToken) =>
        PostAsync(httpClients, webhook, safetyEvent, escalation, cancellationToken, timeout);

    /// <summary>Returns null when the webhook accepted the notice, otherwise the reason it was not delivered.</summary>
    internal static async Task<string?> PostAsync(
        IHttpClientFactory clients, Uri webhook, SafetyEvent safetyEvent, SafetyEscalation? escalation, CancellationToken cancellationToken,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(clients);
        ArgumentNullException.ThrowIfNull(safetyEvent);
        try
        {
            using var client = clients.CreateClient(nameof(SafetyWebhook));
            client.Timeout = timeout ?? Timeout;
            using var response = await client.PostAsJsonAsync(webhook, new
            {
                safetyEvent.Channel, safetyEvent.ConversationId, safetyEvent.Persona, safetyEvent.Rail,
                Severity = safetyEvent.Severity.ToString(), safetyEvent.Action, safetyEvent.At,
                Escalated = escalation is not null, EscalatedBy = escalation?.By, Note = escalation?.Note,
            }, cancellationToken);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException)
        {
            return e.Message;
        }
    }
}
