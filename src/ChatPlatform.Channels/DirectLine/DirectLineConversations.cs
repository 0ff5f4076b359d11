using System.Collections.Concurrent;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Personas;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Hosting;

namespace ChatPlatform.Channels.DirectLine;

/// <summary>
/// The Direct Line conversations this node holds in memory. A conversation unknown here but named by a valid
/// token (after a restart, or on another node) is rebuilt from the store's transcript, so a client's watermark
/// replay still finds its messages. Idle conversations are dropped from memory after a while, and the least recently
/// used idle ones whenever more than <see cref="DirectLineOptions.MaxConversationsInMemory"/> are held; the store
/// keeps them.
/// </summary>
public sealed class DirectLineConversations(IPersonaCatalog personas, IConversationStore store, TimeProvider time, DirectLineOptions options)
    : BackgroundService, ChatPlatform.Core.Privacy.IConversationForgetter
{
    public static readonly TimeSpan IdleLimit = TimeSpan.FromHours(2);
    private const int MaxRebuiltMessages = 500;

    private readonly ConcurrentDictionary<string, Lazy<Task<DirectLineConversation>>> _conversations = new(StringComparer.Ordinal);

    public int Count => _conversations.Count;

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

    private async Task<DirectLineConversation> CreateAsync(DirectLineGrant grant)
    {
        var pack = personas.Find(grant.Persona) ?? throw new InvalidOperationException($"Unknown persona '{grant.Persona}'.");
        var locale = pack.ResolveLocale(grant.Locale);
        var conversation = new DirectLineConversation(grant.ConversationId, pack.Id, grant.UserId, locale, options.MaxActivitiesPerConversation);
        conversation.Append(DirectLineBot.BotMessage(pack, pack.GreetingFor(locale)));
        var history = await store.GetHistoryAsync(DirectLineApi.ChannelId, grant.ConversationId, MaxRebuiltMessages, CancellationToken.None);
        foreach (var message in history)
        {
            conversation.Append(message.Role == ChatRole.User.Value
                ? new DirectLineActivity { Type = "message", Text = message.Text, From = new ChannelAccount(grant.UserId, Role: "user") }
                : DirectLineBot.BotMessage(pack, message.Text));
        }
        return conversation;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(5), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
            DropIdle(time.GetUtcNow());
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
}
