using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using ChatPlatform.Channels.Http;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Knowledge;
using ChatPlatform.Core.Personas;
using Microsoft.Bot.Builder;
using Microsoft.Bot.Schema;
using Microsoft.Extensions.Logging;
using Newtonsoft.Json.Linq;

namespace ChatPlatform.Channels.BotFramework;

/// <summary>
/// Translates Bot Framework activities (Teams, Slack through Azure Bot Service, the Emulator) into orchestrator turns:
/// messages get the persona's reply (streamed in Teams one-to-one chats, with its sources as a footer), members joining get the greeting, and
/// reactions become feedback. A message activity delivered twice (to this node or another) is answered once. Safety
/// rails and the store apply through the <see cref="ChatOrchestrator"/>.
/// </summary>
public sealed partial class PersonaBot(
    ChatOrchestrator orchestrator,
    IPersonaCatalog personas,
    BotDirectory directory,
    IChannelFeedbackStore feedback,
    BotUserRateLimiter rateLimiter,
    IDeliveryLog deliveries,
    BotFrameworkOptions options,
    TimeProvider time,
    ILogger<PersonaBot> logger) : ActivityHandler
{
    /// <summary>Turn state key under which the endpoint passes the persona named in the route.</summary>
    public const string RoutePersonaKey = "ChatPlatform.RoutePersona";

    /// <summary>Teams allows one streaming request per second per stream.</summary>
    public static readonly TimeSpan StreamUpdateInterval = TimeSpan.FromSeconds(1);

    /// <summary>Teams ends a stream two minutes after it began; a final message later than this starts a new message.</summary>
    public static readonly TimeSpan StreamFinalLimit = TimeSpan.FromSeconds(118);

    private static readonly TimeSpan TypingInterval = TimeSpan.FromSeconds(3);
    private const int MaxRemembered = 10_000;

    private readonly ConcurrentDictionary<string, string> _chosenPersona = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _storedReplyByActivity = new(StringComparer.Ordinal);

    /// <summary>The store's channel name for a Bot Framework channel, e.g. <c>bf-msteams</c>.</summary>
    public static string StoreChannel(string? channelId)
    {
        var name = "bf-" + (string.IsNullOrEmpty(channelId) ? "unknown" : channelId);
        return name.Length > 32 ? name[..32] : name;
    }

    /// <summary>
    /// The store's conversation id: the persona and the channel's conversation id, so a conversation that switches
    /// persona with <c>/persona</c> keeps one transcript per persona. Long ids are hashed to fit the store.
    /// </summary>
    public static string StoreConversationId(string persona, string conversationId)
    {
        var key = persona + "|" + conversationId;
        return key.Length <= ChatOrchestrator.MaxConversationIdLength && !key.Any(char.IsControl)
            ? key
            : persona + "|" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(conversationId)));
    }

    protected override async Task OnMessageActivityAsync(ITurnContext<IMessageActivity> turnContext, CancellationToken cancellationToken)
    {
        var activity = turnContext.Activity;
        // In Teams channels and group chats the text starts with <at>Bot</at>; the persona should not see it.
        var text = (activity.RemoveRecipientMention() ?? activity.Text ?? "").Replace("&nbsp;", " ", StringComparison.Ordinal).Trim();
        if (text.Length == 0)
            return;
        // A connector that timed out waiting for us sends the activity again, maybe to another node: answer it once.
        if (activity.Id is { Length: > 0 } activityId
            && !await deliveries.TryRecordAsync(StoreChannel(activity.ChannelId), activity.Conversation.Id + "|" + activityId, cancellationToken))
        {
            LogDuplicate(logger, activity.ChannelId);
            return;
        }

        if (IsCommand(text, "/persona", out var argument))
        {
            await ChoosePersonaAsync(turnContext, argument, cancellationToken);
            return;
        }

        if (rateLimiter.TryAcquire($"{activity.ChannelId}:{activity.From?.Id ?? activity.Conversation.Id}") is { } wait)
        {
            LogUserLimited(logger, activity.ChannelId);
            await turnContext.SendActivityAsync(
                $"You are sending messages faster than I can answer. Please wait {ChatHttp.RetryAfterSeconds(wait)} seconds and try again.",
                cancellationToken: cancellationToken);
            return;
        }

        var persona = await ResolvePersonaAsync(turnContext, cancellationToken);
        var channel = StoreChannel(activity.ChannelId);
        var conversation = StoreConversationId(persona, activity.Conversation.Id);
        var turn = new ChatTurn(persona, conversation, text, SupportedLocale(activity.Locale), channel, UserId(activity.From));

        using var typingStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var typing = KeepTypingAsync(turnContext, typingStop.Token);
        var started = time.GetTimestamp();
        try
        {
            var start = await orchestrator.StartAsync(turn, cancellationToken: cancellationToken);
            if (start.Error is { } error)
            {
                await StopAsync(typingStop, typing);
                if (error.TryLater)
                    LogBusy(logger, activity.ChannelId);
                await turnContext.SendActivityAsync(error.TryLater ? ChatHttp.BusyMessage(start.RetryAfter) : error.Message,
                    cancellationToken: cancellationToken);
                return;
            }

            var stream = IsTeamsOneToOne(((ITurnContext)turnContext).Activity) ? new ReplyStream(turnContext, options, time, started) : null;
            var reply = await ChatReply.ReadAsync(start.Events!, async streamed =>
            {
                if (stream is not null && stream.WantsUpdate())
                {
                    await StopAsync(typingStop, typing);
                    await stream.UpdateAsync(streamed.ToString(), cancellationToken);
                }
            }, cancellationToken);

            await StopAsync(typingStop, typing);
            // The sources go only into the final message; Teams replaces the streamed text with it.
            var message = reply.Message(CitationMarkup.Markdown);
            var final = message.Length > 0 ? message : "…";
            var ids = stream is not null
                ? await stream.FinishAsync(final, cancellationToken)
                : [(await turnContext.SendActivityAsync(final, cancellationToken: cancellationToken))?.Id];
            await RememberReplyAsync(channel, conversation, ids, cancellationToken);
        }
        finally
        {
            await StopAsync(typingStop, typing);
        }
    }

    protected override async Task OnMembersAddedAsync(IList<ChannelAccount> membersAdded, ITurnContext<IConversationUpdateActivity> turnContext, CancellationToken cancellationToken)
    {
        var activity = ((ITurnContext)turnContext).Activity;
        var botId = activity.Recipient?.Id;
        var someoneElse = membersAdded.Any(m => m.Id != botId);
        // Installing the bot in a Teams personal chat announces only the bot; the user is the other party.
        var botJoinedOneToOne = membersAdded.Any(m => m.Id == botId) && activity.Conversation?.ConversationType == "personal";
        if (!someoneElse && !botJoinedOneToOne)
            return;
        var pack = personas.Find(await ResolvePersonaAsync(turnContext, cancellationToken))!;
        await turnContext.SendActivityAsync(pack.GreetingFor(SupportedLocale(activity.Locale ?? ClientLocale(activity))), cancellationToken: cancellationToken);
    }

    protected override Task OnReactionsAddedAsync(IList<MessageReaction> messageReactions, ITurnContext<IMessageReactionActivity> turnContext, CancellationToken cancellationToken) =>
        RecordReactionsAsync(messageReactions, turnContext, added: true, cancellationToken);

    protected override Task OnReactionsRemovedAsync(IList<MessageReaction> messageReactions, ITurnContext<IMessageReactionActivity> turnContext, CancellationToken cancellationToken) =>
        RecordReactionsAsync(messageReactions, turnContext, added: false, cancellationToken);

    private async Task RecordReactionsAsync(IList<MessageReaction> reactions, ITurnContext<IMessageReactionActivity> turnContext, bool added, CancellationToken cancellationToken)
    {
        var activity = turnContext.Activity;
        var persona = await ResolvePersonaAsync(turnContext, cancellationToken);
        var channel = StoreChannel(activity.ChannelId);
        var conversation = StoreConversationId(persona, activity.Conversation.Id);
        long? messageId = activity.ReplyToId is { } replyTo && _storedReplyByActivity.TryGetValue(channel + "|" + replyTo, out var id) ? id : null;
        foreach (var reaction in reactions)
        {
            var comment = "reaction:" + (reaction.Type ?? "unknown");
            var stored = added
                ? await feedback.AddFeedbackAsync(channel, conversation, messageId, Rating(reaction.Type), comment, cancellationToken)
                : await feedback.RemoveFeedbackAsync(channel, conversation, messageId, comment, cancellationToken) > 0;
            if (!stored)
                LogReactionIgnored(logger, activity.ChannelId);
        }
    }

    /// <summary>Teams reactions onto the store's -1/0/+1 scale.</summary>
    public static int Rating(string? reaction) => reaction?.ToLowerInvariant() switch
    {
        "like" or "heart" or "laugh" or "+1" or "thumbsup" => 1,
        "sad" or "angry" or "dislike" or "-1" or "thumbsdown" => -1,
        _ => 0,
    };

    private async Task ChoosePersonaAsync(ITurnContext turnContext, string id, CancellationToken cancellationToken)
    {
        var channel = PackChannel(turnContext.Activity);
        var available = personas.AvailableOn(channel);
        if (id.Length == 0)
        {
            var current = await ResolvePersonaAsync(turnContext, cancellationToken);
            await turnContext.SendActivityAsync($"You are talking to {current}. Switch with '/persona ID'; available: {available}.", cancellationToken: cancellationToken);
            return;
        }
        var pack = personas.FindOn(id, channel);
        if (pack is null)
        {
            await turnContext.SendActivityAsync($"Unknown persona '{id}'. Available: {available}.", cancellationToken: cancellationToken);
            return;
        }
        if (_chosenPersona.Count >= MaxRemembered)
            _chosenPersona.Clear();
        _chosenPersona[ChoiceKey(turnContext.Activity)] = pack.Id;
        var locale = SupportedLocale(turnContext.Activity.Locale);
        await turnContext.SendActivityAsync($"{pack.Name} ({pack.Id}) answers in this conversation from now on.\n\n{pack.GreetingFor(locale)}", cancellationToken: cancellationToken);
    }

    /// <summary>The user's <c>/persona</c> choice, then the route, then a channel binding, then the configured default.</summary>
    private async Task<string> ResolvePersonaAsync(ITurnContext turnContext, CancellationToken cancellationToken)
    {
        var activity = turnContext.Activity;
        var channel = PackChannel(activity);
        if (_chosenPersona.TryGetValue(ChoiceKey(activity), out var chosen) && personas.FindOn(chosen, channel) is not null)
            return chosen;
        if (turnContext.TurnState.Get<string>(RoutePersonaKey) is { } routed && personas.FindOn(routed, channel) is { } routedPack)
            return routedPack.Id;
        if (await directory.FindPersonaAsync(BindingKeys(activity), cancellationToken) is { } bound && personas.FindOn(bound, channel) is { } boundPack)
            return boundPack.Id;
        if (options.Persona is { } configured && personas.FindOn(configured, channel) is { } configuredPack)
            return configuredPack.Id;
        // With no pack offered on this channel the first one is named, and the turn is refused as an unknown persona.
        return personas.OfferedOn(channel) is [var first, ..] ? first.Id : personas.All[0].Id;
    }

    /// <summary>The pack channel (<c>teams</c>, or <c>slack</c> through Azure) an activity arrives on.</summary>
    public static string? PackChannel(Activity activity) => ChannelNames.OfTurnChannel(StoreChannel(activity.ChannelId));

    /// <summary>Where a binding may name the persona, most specific first: a Teams team, a Teams tenant, a Slack workspace, the bot.</summary>
    public static IReadOnlyList<BindingKey> BindingKeys(Activity activity)
    {
        var keys = new List<BindingKey>();
        var data = activity.ChannelData as JObject;
        if (activity.ChannelId == Microsoft.Bot.Connector.Channels.Msteams)
        {
            if (data?.SelectToken("team.id")?.ToString() is { Length: > 0 } team)
                keys.Add(new("teams", team));
            if ((data?.SelectToken("tenant.id")?.ToString() ?? activity.Conversation?.TenantId) is { Length: > 0 } tenant)
                keys.Add(new("teams", tenant));
        }
        else if (activity.ChannelId == Microsoft.Bot.Connector.Channels.Slack)
        {
            // Azure Bot Service passes Slack's event in channelData; conversation ids look like B..:T..:C...
            var team = data?.SelectToken("SlackMessage.team_id")?.ToString()
                ?? data?.SelectToken("SlackMessage.event.team")?.ToString()
                ?? activity.Conversation?.Id?.Split(':').FirstOrDefault(p => p.StartsWith('T'));
            if (team is { Length: > 0 })
                keys.Add(new("slack", team));
        }
        if (activity.Recipient?.Id is { Length: > 0 } bot)
            keys.Add(new("botframework", bot));
        return keys;
    }

    private async Task RememberReplyAsync(string channel, string conversation, IEnumerable<string?> activityIds, CancellationToken cancellationToken)
    {
        var ids = activityIds.OfType<string>().Where(i => i.Length > 0).ToList();
        if (ids.Count == 0)
            return;
        if (await feedback.LatestReplyIdAsync(channel, conversation, cancellationToken) is not { } messageId)
            return;
        if (_storedReplyByActivity.Count >= MaxRemembered)
            _storedReplyByActivity.Clear();
        foreach (var id in ids)
            _storedReplyByActivity[channel + "|" + id] = messageId;
    }

    private async Task KeepTypingAsync(ITurnContext turnContext, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await turnContext.SendActivityAsync(new Activity { Type = ActivityTypes.Typing }, cancellationToken);
                await Task.Delay(TypingInterval, time, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is HttpRequestException or Microsoft.Bot.Schema.ErrorResponseException or Microsoft.Rest.HttpOperationException)
        {
            // The indicator is a nicety; the reply itself reports failures.
            var error = e.GetType().Name;
            LogTypingFailed(logger, error, turnContext.Activity.ChannelId);
        }
    }

    private static async Task StopAsync(CancellationTokenSource stop, Task typing)
    {
        if (!stop.IsCancellationRequested)
            await stop.CancelAsync();
        await typing;
    }

    private static bool IsTeamsOneToOne(Activity activity) =>
        activity.ChannelId == Microsoft.Bot.Connector.Channels.Msteams && activity.Conversation?.ConversationType == "personal";

    private static bool IsCommand(string text, string command, out string argument)
    {
        argument = "";
        if (!text.StartsWith(command, StringComparison.OrdinalIgnoreCase))
            return false;
        if (text.Length > command.Length && !char.IsWhiteSpace(text[command.Length]))
            return false;
        argument = text[command.Length..].Trim();
        return true;
    }

    private static string ChoiceKey(Activity activity) => activity.ChannelId + "|" + activity.Conversation?.Id;

    /// <summary>The channel's locale when the platform has that language, else null (the persona's default).</summary>
    public static string? SupportedLocale(string? locale)
    {
        if (string.IsNullOrWhiteSpace(locale))
            return null;
        var language = locale.Split('-', '_')[0];
        return Locales.Supported.Any(l => string.Equals(l, locale, StringComparison.OrdinalIgnoreCase)
            || string.Equals(l.Split('-')[0], language, StringComparison.OrdinalIgnoreCase)) ? locale : null;
    }

    private static string? ClientLocale(Activity activity) =>
        activity.Entities?.FirstOrDefault(e => e.Type == "clientInfo")?.Properties?["locale"]?.ToString();

    private static string? UserId(ChannelAccount? from)
    {
        var id = from?.AadObjectId ?? from?.Id;
        return id is { Length: > 128 } ? id[..128] : id;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "A {Channel} message activity was delivered before; not answered again")]
    private static partial void LogDuplicate(ILogger logger, string channel);

    [LoggerMessage(Level = LogLevel.Information, Message = "A {Channel} user sent messages faster than the per-user limit")]
    private static partial void LogUserLimited(ILogger logger, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Inference core busy; a {Channel} user was asked to try again")]
    private static partial void LogBusy(ILogger logger, string channel);

    [LoggerMessage(Level = LogLevel.Debug, Message = "A {Channel} reaction concerns no stored conversation; ignored")]
    private static partial void LogReactionIgnored(ILogger logger, string channel);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sending the typing indicator on {ActivityChannel} failed ({Error})")]
    private static partial void LogTypingFailed(ILogger logger, string error, string activityChannel);
}
