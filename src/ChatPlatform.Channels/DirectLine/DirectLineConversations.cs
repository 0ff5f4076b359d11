using System.Collections.Concurrent;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using ChatPlatform.Core.Nodes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Channels.DirectLine;

/// <summary>
/// The Direct Line conversations this node holds in memory: a cache of the store, which is the source of truth.
/// A conversation unknown here but named by a valid token (after a restart, or started on another node) is rebuilt
/// from the store's transcript. Each stored message keeps its store position as its id and watermark, so every node
/// shows a conversation alike. When nodes share PostgreSQL, each new activity is announced to the others
/// (<see cref="DirectLineRelay"/>); while that channel is down, the conversations in use here are read from the store
/// every <see cref="DirectLineOptions.SyncSeconds"/>. Idle conversations are dropped from memory after a while, and the
/// least recently used idle ones whenever more than <see cref="DirectLineOptions.MaxConversationsInMemory"/> are held.
/// </summary>
public sealed partial class DirectLineConversations(
    IPersonaCatalog personas, IConversationStore store, TimeProvider time, DirectLineOptions options, ILogger<DirectLineConversations> logger,
    INodeNotifications? notifications = null, IInputSafety? inputSafety = null)
    : BackgroundService, ChatPlatform.Core.Privacy.IConversationForgetter
{
    public static readonly TimeSpan IdleLimit = TimeSpan.FromHours(2);
    private const int MaxRebuiltMessages = 500;

    /// <summary>Conversations used this recently are kept in step with the store while notices from other nodes do not arrive.</summary>
    private static readonly TimeSpan ActiveLimit = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<string, Lazy<Task<DirectLineConversation>>> _conversations = new(StringComparer.Ordinal);
    private readonly DirectLineRelay _relay = new();

    public int Count => _conversations.Count;

    /// <summary>
    /// True when what other nodes add reaches this node only by reading the store: on PostgreSQL while this node is
    /// not listening for their notices. One node alone (SQLite) has nothing to read.
    /// </summary>
    public bool ReadsThrough => notifications is { IsListening: false };

    /// <summary>The conversation the grant names, created (with the persona's greeting) or rebuilt when needed.</summary>
    public async Task<DirectLineConversation> GetOrCreateAsync(DirectLineGrant grant, CancellationToken cancellationToken)
    {
        var added = false;
        var lazy = _conversations.GetOrAdd(grant.ConversationId, _ =>
        {
            added = true;
            return new Lazy<Task<DirectLineConversation>>(() => CreateAsync(grant));
        });
        try
        {
            var conversation = await lazy.Value.WaitAsync(cancellationToken);
            // Only a conversation coming into memory can take the count over the cap, so only then is it checked.
            if (added && _conversations.Count > options.MaxConversationsInMemory)
                DropLeastRecentlyUsed(keep: conversation);
            return conversation;
        }
        catch (Exception) when (lazy.Value.IsFaulted)
        {
            _conversations.TryRemove(new(grant.ConversationId, lazy));
            throw;
        }
    }

    /// <summary>A conversation held in memory, or null.</summary>
    public DirectLineConversation? Find(string conversationId) =>
        _conversations.TryGetValue(conversationId, out var lazy) && lazy.Value.IsCompletedSuccessfully ? lazy.Value.Result : null;

    /// <summary>
    /// Stores the user's message, then keeps and announces its echo at the stored position, so every node shows it
    /// at once, before the reply. Returns the position, which the turn passes on (<see cref="ChatTurn.StoredSequence"/>).
    /// The store gets the text as the rails would pass it on (personal data redacted where the pack says so); the echo,
    /// which only this person's own client shows, keeps their words.
    /// </summary>
    public async Task<int> AddUserMessageAsync(DirectLineConversation conversation, DirectLineActivity echo, string text, string? locale, CancellationToken cancellationToken)
    {
        var pack = personas.Find(conversation.Persona)!;
        await store.OpenAsync(DirectLineApi.ChannelId, conversation.Id, pack.Id, pack.ResolveLocale(locale ?? conversation.Locale), conversation.UserId, cancellationToken);
        var sequence = await store.AppendAsync(DirectLineApi.ChannelId, conversation.Id,
            new StoredMessage(ChatRole.User.Value, inputSafety?.RedactForStorage(pack, text) ?? text, DateTimeOffset.UtcNow), null, cancellationToken);
        await AddStoredAsync(conversation, sequence, echo, cancellationToken);
        return sequence;
    }

    /// <summary>
    /// Keeps a reply: at its stored position when it was stored, otherwise as a notice after the last stored message
    /// (a busy or failure answer). Other nodes are told either way.
    /// </summary>
    public async Task<DirectLineActivity> AddReplyAsync(DirectLineConversation conversation, int? sequence, DirectLineActivity reply, CancellationToken cancellationToken)
    {
        if (sequence is { } stored)
            return await AddStoredAsync(conversation, stored, reply, cancellationToken);
        await AnnounceAsync(conversation, conversation.AddNotice(reply), reply, kept: true);
        return reply;
    }

    /// <summary>Sends a typing or livestreaming update to the conversation's stream, on whichever node holds it.</summary>
    public async Task<DirectLineActivity> PushAsync(DirectLineConversation conversation, DirectLineActivity activity)
    {
        conversation.Push(activity);
        await AnnounceAsync(conversation, null, activity, kept: false);
        return activity;
    }

    /// <summary>Reads the stored messages this node has not seen yet into the conversation; they stream out as they enter.</summary>
    public async Task SyncAsync(DirectLineConversation conversation, CancellationToken cancellationToken)
    {
        const int page = 200;
        await conversation.SyncGate.WaitAsync(cancellationToken);
        try
        {
            var pack = personas.Find(conversation.Persona);
            if (pack is null) return;
            while (true)
            {
                var messages = await store.GetMessagesAfterAsync(DirectLineApi.ChannelId, conversation.Id, conversation.StoredUpTo, page, cancellationToken);
                foreach (var message in messages)
                    conversation.AddStored(message.Sequence, conversation.StampStored(Rebuilt(conversation, pack, message), message.Sequence), live: false);
                if (messages.Count < page) return;
            }
        }
        finally
        {
            conversation.SyncGate.Release();
        }
    }

    private async Task<DirectLineActivity> AddStoredAsync(DirectLineConversation conversation, int sequence, DirectLineActivity activity, CancellationToken cancellationToken)
    {
        conversation.StampStored(activity, sequence);
        // Messages stored by another node before this one and not heard of yet: read them, so nothing is skipped.
        if (!conversation.AddStored(sequence, activity, live: true))
            await SyncAsync(conversation, cancellationToken);
        await AnnounceAsync(conversation, new ActivityPosition(sequence, 0), activity, kept: true);
        return activity;
    }

    private async Task AnnounceAsync(DirectLineConversation conversation, ActivityPosition? position, DirectLineActivity activity, bool kept)
    {
        if (notifications is null) return;
        try
        {
            await notifications.NotifyAsync(DirectLineRelay.Channel, _relay.Notice(conversation.Id, position, activity, kept, notifications.MaxPayloadBytes), CancellationToken.None);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or IOException or InvalidOperationException or TimeoutException)
        {
            // The other nodes read the store when they hear nothing; the activity is not lost, only slower to reach them.
            LogAnnounceFailed(logger, e.GetType().Name);
        }
    }

    /// <summary>An announcement from another node: the activity goes into this node's copy, if this node holds the conversation.</summary>
    private async Task ReceiveAsync(string payload, CancellationToken cancellationToken)
    {
        if (_relay.Read(payload) is not { } notice || Find(notice.ConversationId) is not { } conversation) return;
        switch (notice)
        {
            case { Activity: null, Kept: true }:
                await SyncAsync(conversation, cancellationToken);
                break;
            case { Activity: null }:
                break;
            case { Kept: false }:
                conversation.Forward(notice.Activity);
                break;
            case { Position: { Notice: 0 } stored }:
                if (!conversation.AddStored(stored.Sequence, notice.Activity, live: true))
                    await SyncAsync(conversation, cancellationToken);
                break;
            case { Position: { } position }:
                conversation.AddNotice(position, notice.Activity);
                break;
        }
    }

    /// <summary>After a time without notices: brings every conversation in use here up to date from the store.</summary>
    private async Task SyncActiveAsync(CancellationToken cancellationToken)
    {
        var since = time.GetUtcNow() - ActiveLimit;
        foreach (var (_, lazy) in _conversations)
        {
            if (!lazy.IsValueCreated || !lazy.Value.IsCompletedSuccessfully) continue;
            var conversation = lazy.Value.Result;
            if (conversation.HasSocket || conversation.LastUsed > since)
                await SyncAsync(conversation, cancellationToken);
        }
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        notifications?.Subscribe(new NoticeSubscription(DirectLineRelay.Channel, ReceiveAsync, SyncActiveAsync));
        return base.StartAsync(cancellationToken);
    }

    private async Task<DirectLineConversation> CreateAsync(DirectLineGrant grant)
    {
        var pack = personas.Find(grant.Persona) ?? throw new InvalidOperationException($"Unknown persona '{grant.Persona}'.");
        var locale = pack.ResolveLocale(grant.Locale);
        var conversation = new DirectLineConversation(grant.ConversationId, pack.Id, grant.UserId, locale, options.MaxActivitiesPerConversation);
        conversation.Greet(DirectLineBot.BotMessage(pack, pack.GreetingFor(locale)));
        var history = await store.GetHistoryAsync(DirectLineApi.ChannelId, grant.ConversationId, MaxRebuiltMessages, CancellationToken.None);
        if (history.Count > 0) conversation.StartAfter(history[0].Sequence - 1);
        foreach (var message in history)
            conversation.AddStored(message.Sequence, conversation.StampStored(Rebuilt(conversation, pack, message), message.Sequence), live: false);
        return conversation;
    }

    /// <summary>
    /// A stored message as an activity, when the turn that made it ran elsewhere and its own activity did not reach
    /// this node: the stored text, without the client's details or the reply's sources.
    /// </summary>
    private static DirectLineActivity Rebuilt(DirectLineConversation conversation, PersonaPack pack, StoredMessage message)
    {
        var activity = message.Role == ChatRole.User.Value
            ? new DirectLineActivity { Type = "message", Text = message.Text, From = new ChannelAccount(conversation.UserId, Role: "user") }
            : DirectLineBot.BotMessage(pack, message.Text);
        activity.Timestamp = message.CreatedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);
        return activity;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = notifications is null ? TimeSpan.FromMinutes(5) : TimeSpan.FromSeconds(options.SyncSeconds);
        using var timer = new PeriodicTimer(interval, time);
        var lastDrop = time.GetUtcNow();
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var now = time.GetUtcNow();
            if (now - lastDrop >= TimeSpan.FromMinutes(5))
            {
                DropIdle(now);
                lastDrop = now;
            }
            if (!ReadsThrough) continue;
            try
            {
                await SyncActiveAsync(stoppingToken);
            }
            catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
            {
                LogSyncFailed(logger, e.GetType().Name);
            }
        }
    }

    internal void DropIdle(DateTimeOffset now)
    {
        foreach (var (id, lazy) in _conversations)
        {
            if (Idle(lazy) is { } c && now - c.LastUsed > IdleLimit)
                _conversations.TryRemove(new(id, lazy));
        }
    }

    /// <summary>
    /// Drops erased conversations from memory and closes their streams, so nothing replays them; a client that comes
    /// back with its token gets a conversation rebuilt from the store, which no longer holds the erased messages.
    /// </summary>
    public void Forget(IReadOnlySet<string> conversationKeys)
    {
        foreach (var (id, lazy) in _conversations)
        {
            if (!conversationKeys.Contains(ChatPlatform.Core.Privacy.ConversationKeys.Hash(DirectLineApi.ChannelId, id))) continue;
            _conversations.TryRemove(new(id, lazy));
            if (lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully) lazy.Value.Result.Forget();
        }
    }

    /// <summary>Over the cap: drops the least recently used idle conversations down to nine tenths of it.</summary>
    private void DropLeastRecentlyUsed(DirectLineConversation keep)
    {
        var target = options.MaxConversationsInMemory * 9 / 10;
        var idle = _conversations
            .Select(e => (e.Key, e.Value, Conversation: Idle(e.Value)))
            .Where(e => e.Conversation is not null && !ReferenceEquals(e.Conversation, keep))
            .OrderBy(e => e.Conversation!.LastUsed)
            .ToList();
        foreach (var (id, lazy, _) in idle)
        {
            if (_conversations.Count <= target) break;
            _conversations.TryRemove(new(id, lazy));
        }
    }

    /// <summary>The conversation when it can leave memory: built, with no stream attached and no turn running.</summary>
    private static DirectLineConversation? Idle(Lazy<Task<DirectLineConversation>> lazy) =>
        lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully && lazy.Value.Result is { HasSocket: false } c && c.TurnGate.CurrentCount == 1 ? c : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell the other nodes of a Direct Line activity ({Error}); they read it from the store")]
    private static partial void LogAnnounceFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read Direct Line conversations from the store ({Error}); trying again at the next interval")]
    private static partial void LogSyncFailed(ILogger logger, string error);
}
