using System.Collections.Concurrent;

namespace ChatPlatform.Core.Chat;

/// <summary>A store that keeps conversations in memory only: the terminal chat and tests use it.</summary>
public sealed class InMemoryConversationStore : IConversationStore
{
    private sealed record Conversation(string Persona, List<StoredMessage> Messages)
    {
        public HashSet<string> Flags { get; } = new(StringComparer.Ordinal);

        /// <summary>Each message's safety verdicts, by position (see <see cref="MessageDetails.SafetyVerdicts"/>).</summary>
        public List<IReadOnlyList<string>?> Verdicts { get; } = [];
    }

    private readonly ConcurrentDictionary<(string, string), Conversation> _conversations = new();

    public Task<string> OpenAsync(string channel, string conversationId, string persona, string locale, string? userId, CancellationToken cancellationToken)
    {
        var conversation = _conversations.GetOrAdd((channel, conversationId), _ => new Conversation(persona, []));
        return Task.FromResult(conversation.Persona);
    }

    public Task<bool> CreateAsync(string channel, string conversationId, string persona, string locale, string? userId, CancellationToken cancellationToken) =>
        Task.FromResult(_conversations.TryAdd((channel, conversationId), new Conversation(persona, [])));

    public Task<string?> FindAsync(string channel, string conversationId, CancellationToken cancellationToken) =>
        Task.FromResult(_conversations.TryGetValue((channel, conversationId), out var conversation) ? conversation.Persona : null);

    public Task<IReadOnlyList<StoredMessage>> GetHistoryAsync(string channel, string conversationId, int max, CancellationToken cancellationToken)
    {
        if (!_conversations.TryGetValue((channel, conversationId), out var conversation))
            return Task.FromResult<IReadOnlyList<StoredMessage>>([]);
        lock (conversation.Messages)
            return Task.FromResult<IReadOnlyList<StoredMessage>>(conversation.Messages.TakeLast(max).ToList());
    }

    public Task<IReadOnlyList<StoredMessage>> GetMessagesAfterAsync(string channel, string conversationId, int afterSequence, int max, CancellationToken cancellationToken)
    {
        if (!_conversations.TryGetValue((channel, conversationId), out var conversation))
            return Task.FromResult<IReadOnlyList<StoredMessage>>([]);
        lock (conversation.Messages)
            return Task.FromResult<IReadOnlyList<StoredMessage>>(conversation.Messages.Where(m => m.Sequence > afterSequence).Take(max).ToList());
    }

    public Task<int> AppendAsync(string channel, string conversationId, StoredMessage message, MessageDetails? details, CancellationToken cancellationToken)
    {
        var conversation = _conversations[(channel, conversationId)];
        lock (conversation.Messages)
        {
            var sequence = conversation.Messages.Count + 1;
            conversation.Messages.Add(message with { Sequence = sequence });
            conversation.Verdicts.Add(details?.SafetyVerdicts);
            return Task.FromResult(sequence);
        }
    }

    /// <summary>
    /// The safety verdicts stored with the messages after <paramref name="afterSequence"/> (<c>pii:redacted</c>,
    /// <c>crisis:engaged</c>…): what the rails did in a turn, including redaction, which raises no safety event.
    /// </summary>
    public IReadOnlyList<string> SafetyVerdictsAfter(string channel, string conversationId, int afterSequence)
    {
        if (!_conversations.TryGetValue((channel, conversationId), out var conversation)) return [];
        lock (conversation.Messages)
            return [.. conversation.Verdicts.Skip(Math.Max(afterSequence, 0)).SelectMany(v => v ?? [])];
    }

    /// <summary>Forgets a conversation and its messages (a finished trial).</summary>
    public void Remove(string channel, string conversationId) => _conversations.TryRemove((channel, conversationId), out _);

    public Task AddFlagAsync(string channel, string conversationId, string flag, CancellationToken cancellationToken)
    {
        var conversation = _conversations[(channel, conversationId)];
        lock (conversation.Flags)
            conversation.Flags.Add(flag);
        return Task.CompletedTask;
    }

    public Task<IReadOnlySet<string>> GetFlagsAsync(string channel, string conversationId, CancellationToken cancellationToken)
    {
        if (!_conversations.TryGetValue((channel, conversationId), out var conversation))
            return Task.FromResult<IReadOnlySet<string>>(new HashSet<string>());
        lock (conversation.Flags)
            return Task.FromResult<IReadOnlySet<string>>(new HashSet<string>(conversation.Flags, StringComparer.Ordinal));
    }
}
