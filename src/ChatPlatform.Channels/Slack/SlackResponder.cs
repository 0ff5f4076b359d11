using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using ChatPlatform.Channels.Http;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Knowledge;
using ChatPlatform.Core.Personas;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Channels.Slack;

/// <summary>A Slack message to answer: where it came from and what it said.</summary>
public sealed record SlackMessage(string Team, string Channel, string ThreadTs, string? User, string Text);

/// <summary>
/// Answers Slack events in the background: each message runs through the <see cref="ChatOrchestrator"/> and the
/// reply is posted in the message's thread. Retried deliveries (same <c>event_id</c>) are answered once, on whichever
/// node they arrive: the ids are recorded in the store's <see cref="IDeliveryLog"/>.
/// </summary>
public sealed partial class SlackResponder(
    SlackOptions options,
    ChatOrchestrator orchestrator,
    IPersonaCatalog personas,
    IHttpClientFactory httpClients,
    IDeliveryLog deliveries,
    ILogger<SlackResponder> logger,
    IChannelBindingLookup? bindings = null) : BackgroundService
{
    public const string HttpClientName = "slack";
    public const string ChannelName = "slack";

    /// <summary>Events waiting for an answer on this node; past this many, Slack is asked to deliver again later.</summary>
    public const int QueueCapacity = 1000;

    // Wait, not a drop mode: only then does TryWrite say false when the queue is full (the drop modes report success).
    private readonly Channel<SlackMessage> _queue = Channel.CreateBounded<SlackMessage>(new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.Wait });
    private readonly ConcurrentDictionary<(string Team, string Channel), string> _personaByChannel = new();

    [GeneratedRegex(@"<@[UWB][A-Z0-9]+(\|[^>]*)?>")]
    private static partial Regex Mention();

    /// <summary>What became of an event the endpoint passed on.</summary>
    public enum Acceptance
    {
        /// <summary>Not a message to answer (another event type, a bot, an edit), or a repeat of one taken in before.</summary>
        Ignored,
        /// <summary>Recorded and queued; it will be answered.</summary>
        Queued,
        /// <summary>This node's queue is full: nothing was kept, so Slack's retry can be taken in later or by another node.</summary>
        Full,
    }

    /// <summary>Takes an event from the endpoint and returns once it is recorded and queued, or known not to be.</summary>
    public async Task<Acceptance> AcceptAsync(string? eventId, string? team, JsonElement e, CancellationToken cancellationToken)
    {
        var type = SlackEventsApi.Str(e, "type");
        var isDirect = type == "message" && SlackEventsApi.Str(e, "channel_type") == "im";
        if (type != "app_mention" && !isDirect)
            return Acceptance.Ignored;
        // Bots (this one included) and edits, joins and other subtypes get no answer.
        if (e.TryGetProperty("bot_id", out _) || SlackEventsApi.Str(e, "subtype") is not null)
            return Acceptance.Ignored;
        var channel = SlackEventsApi.Str(e, "channel");
        var ts = SlackEventsApi.Str(e, "ts");
        if (channel is null || ts is null)
            return Acceptance.Ignored;
        // Refused before it is recorded while the queue is full: an overloaded node writes nothing for events it cannot take.
        if (_queue.Reader.Count >= QueueCapacity)
        {
            LogQueueFull(logger);
            return Acceptance.Full;
        }
        if (eventId is not null && !await deliveries.TryRecordAsync(ChannelName, eventId, cancellationToken))
        {
            LogDuplicate(logger, eventId);
            return Acceptance.Ignored;
        }

        var text = Mention().Replace(SlackEventsApi.Str(e, "text") ?? "", "").Trim();
        var message = new SlackMessage(team ?? "", channel, SlackEventsApi.Str(e, "thread_ts") ?? ts, SlackEventsApi.Str(e, "user"), text);
        if (_queue.Writer.TryWrite(message))
            return Acceptance.Queued;
        LogQueueFull(logger);
        if (eventId is not null)
            await deliveries.ForgetAsync(ChannelName, eventId, CancellationToken.None);
        return Acceptance.Full;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var message in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await AnswerAsync(message, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogAnswerFailed(logger, e, message.Channel);
            }
        }
    }

    internal async Task AnswerAsync(SlackMessage message, CancellationToken cancellationToken)
    {
        var key = (message.Team, message.Channel);
        if (message.Text.StartsWith("/persona", StringComparison.OrdinalIgnoreCase))
        {
            var id = message.Text["/persona".Length..].Trim();
            var pack = personas.FindOn(id, ChannelNames.Slack);
            if (pack is null)
            {
                await PostAsync(message, $"Unknown persona '{id}'. Available: {personas.AvailableOn(ChannelNames.Slack)}.", cancellationToken);
                return;
            }
            _personaByChannel[key] = pack.Id;
            await PostAsync(message, $"New conversations here are answered by {pack.Name} ({pack.Id}).", cancellationToken);
            return;
        }
        if (message.Text.Length == 0)
            return;

        // A /persona command in the channel wins; then the workspace's binding from the admin console; then the configured default.
        var bound = _personaByChannel.ContainsKey(key) || bindings is null || message.Team.Length == 0
            ? null
            : await bindings.FindPersonaAsync(ChannelName, message.Team, cancellationToken);
        var persona = _personaByChannel.TryGetValue(key, out var chosen) ? chosen : bound?.PersonaId ?? options.Persona;
        var turn = new ChatTurn(persona, $"{message.Team}:{message.Channel}:{message.ThreadTs}", message.Text, bound?.Locale,
            Channel: ChannelName, UserId: message.User);
        var start = await orchestrator.StartAsync(turn, cancellationToken: cancellationToken);
        if (start.Error is { } error)
        {
            var text = error.TryLater ? ChatHttp.BusyMessage(start.RetryAfter) : error.Message;
            await PostAsync(message, text, cancellationToken);
            return;
        }

        var reply = (await ChatReply.ReadAsync(start.Events!, cancellationToken: cancellationToken)).Message(CitationMarkup.Slack);
        await PostAsync(message, reply.Length > 0 ? reply : "…", cancellationToken);
    }

    private async Task PostAsync(SlackMessage message, string text, CancellationToken cancellationToken)
    {
        var http = httpClients.CreateClient(HttpClientName);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(options.ApiBaseUrl.TrimEnd('/') + "/"), "chat.postMessage"))
        {
            Content = JsonContent.Create(new { channel = message.Channel, thread_ts = message.ThreadTs, text }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.BotToken);
        using var response = await http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var ok = false;
        string? slackError = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            ok = document.RootElement.TryGetProperty("ok", out var value) && value.ValueKind == JsonValueKind.True;
            slackError = SlackEventsApi.Str(document.RootElement, "error");
        }
        catch (JsonException)
        {
        }
        if (!response.IsSuccessStatusCode || !ok)
            LogPostFailed(logger, (int)response.StatusCode, slackError ?? "no error given", message.Channel);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Slack event {EventId} seen before; ignored")]
    private static partial void LogDuplicate(ILogger logger, string eventId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack queue is full; the event was refused with 503 for Slack to deliver again")]
    private static partial void LogQueueFull(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Answering a Slack message in channel {Channel} failed")]
    private static partial void LogAnswerFailed(ILogger logger, Exception exception, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "chat.postMessage failed (HTTP {Status}, {Error}) for channel {Channel}")]
    private static partial void LogPostFailed(ILogger logger, int status, string error, string channel);
}
