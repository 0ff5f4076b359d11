using LLama.Batched;
using LLama.Native;

namespace ChatPlatform.Inference.Local;

/// <summary>
/// Decoded token sequences kept in one lane's KV cache so later prompts that start the same way skip re-reading
/// that part: a persona's system prompt (new conversations fork from it) and finished conversations (the next turn
/// continues from them). Entries are forked, never handed out, so one entry serves many conversations at once.
/// Bounded by a token budget and an entry count; the least recently used entries go first.
/// </summary>
public sealed class PromptCache(int tokenBudget, int maxEntries)
{
    /// <summary>Shorter matches are not worth a fork.</summary>
    public const int MinimumReuse = 8;

    private readonly List<Entry> _entries = [];

    public int Count => _entries.Count;

    public int Tokens => _entries.Sum(e => e.Tokens.Length);

    public bool Enabled => tokenBudget > 0 && maxEntries > 0;

    /// <summary>
    /// Starts a conversation for <paramref name="tokens"/>: forks the entry sharing the longest prefix, rewinds it to
    /// that prefix and prompts the rest; without a useful match, a fresh conversation gets the whole prompt.
    /// Returns the conversation and how many tokens were reused.
    /// </summary>
    public (Conversation Conversation, int Reused) Start(BatchedExecutor executor, LLamaToken[] tokens)
    {
        Entry? best = null;
        var bestLength = 0;
        foreach (var entry in _entries)
        {
            var length = CommonPrefix(entry.Tokens, tokens);
            if (length > bestLength) (best, bestLength) = (entry, length);
        }
        // At least one token must be decoded to get logits for the first reply token.
        bestLength = Math.Min(bestLength, tokens.Length - 1);

        if (best is null || bestLength < MinimumReuse)
        {
            var fresh = executor.Create();
            fresh.Prompt(tokens);
            return (fresh, 0);
        }

        best.LastUsed = Environment.TickCount64;
        var conversation = best.Conversation.Fork();
        var extra = conversation.TokenCount - bestLength;
        if (extra > 0) conversation.Rewind(extra);
        conversation.Prompt(tokens.AsSpan(bestLength));
        return (conversation, bestLength);
    }

    /// <summary>True when an entry already covers the first <paramref name="length"/> tokens.</summary>
    public bool Covers(ReadOnlySpan<LLamaToken> tokens, int length)
    {
        foreach (var entry in _entries)
            if (entry.Tokens.Length >= length && CommonPrefix(entry.Tokens, tokens) >= length)
                return true;
        return false;
    }

    /// <summary>Keeps a decoded conversation (ownership passes to the cache) whose KV holds exactly <paramref name="tokens"/>.</summary>
    public void Add(Conversation conversation, LLamaToken[] tokens)
    {
        if (!Enabled || tokens.Length < MinimumReuse || tokens.Length > tokenBudget)
        {
            conversation.Dispose();
            return;
        }
        // A new entry that extends an old one makes the old one redundant.
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            var old = _entries[i];
            if (old.Tokens.Length <= tokens.Length && CommonPrefix(old.Tokens, tokens) == old.Tokens.Length && !old.Pinned)
            {
                old.Conversation.Dispose();
                _entries.RemoveAt(i);
            }
        }
        _entries.Add(new Entry(conversation, tokens, pinned: false) { LastUsed = Environment.TickCount64 });
        Trim();
    }

    /// <summary>
    /// Keeps the first <paramref name="length"/> tokens of a running conversation (a persona's system prompt) as a
    /// shared prefix: a fork rewound to that length. Prefixes stay until evicted, also when a longer entry extends them.
    /// </summary>
    public void AddPrefix(Conversation running, LLamaToken[] tokens, int length)
    {
        if (!Enabled || length < MinimumReuse || Covers(tokens, length)) return;
        var fork = running.Fork();
        var extra = fork.TokenCount - length;
        if (extra > 0) fork.Rewind(extra);
        _entries.Add(new Entry(fork, tokens[..length], pinned: true) { LastUsed = Environment.TickCount64 });
        Trim();
    }

    /// <summary>Frees every entry (the lane ran out of KV memory, or is being closed).</summary>
    public void Clear()
    {
        foreach (var entry in _entries) entry.Conversation.Dispose();
        _entries.Clear();
    }

    private void Trim()
    {
        while (_entries.Count > 0 && (_entries.Count > maxEntries || Tokens > tokenBudget))
        {
            var oldest = _entries.MinBy(e => e.LastUsed)!;
            oldest.Conversation.Dispose();
            _entries.Remove(oldest);
        }
    }

    private static int CommonPrefix(ReadOnlySpan<LLamaToken> a, ReadOnlySpan<LLamaToken> b)
    {
        var n = Math.Min(a.Length, b.Length);
        var i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }

    private sealed class Entry(Conversation conversation, LLamaToken[] tokens, bool pinned)
    {
        public Conversation Conversation { get; } = conversation;
        public LLamaToken[] Tokens { get; } = tokens;
        public bool Pinned { get; } = pinned;
        public long LastUsed { get; set; }
    }
}
