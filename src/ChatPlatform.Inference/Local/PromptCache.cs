using LLama.Batched;
using LLama.Native;

namespace ChatPlatform.Inference.Local;

/// <summary>
/// Decoded token sequences kept for one lane so later prompts that start the same way skip re-reading that part:
/// a persona's system prompt (new conversations fork from it) and finished conversations (the next turn continues
/// from them). Bounded by a token budget and an entry count; the least recently used entries go first.
/// </summary>
/// <remarks>
/// Persona prefixes stay in the lane's live KV memory, where every conversation forked from them shares their cells.
/// A finished conversation is copied out to host memory and leaves the live KV: llama.cpp attends over every cell
/// in use on each decode step, so idle conversations left there would slow every running one. A returning
/// conversation is copied back in, which takes milliseconds where re-reading its history takes seconds.
/// </remarks>
public sealed class PromptCache(int tokenBudget, int maxEntries)
{
    /// <summary>Shorter matches are not worth a fork.</summary>
    public const int MinimumReuse = 8;

    private readonly List<Entry> _entries = [];

    public int Count => _entries.Count;

    /// <summary>Tokens held, live and saved.</summary>
    public int Tokens => _entries.Sum(e => e.Tokens.Length);

    /// <summary>Tokens held in the lane's live KV memory (persona prefixes).</summary>
    public int LiveTokens => _entries.Where(e => e.Live is not null).Sum(e => e.Tokens.Length);

    public bool Enabled => tokenBudget > 0 && maxEntries > 0;

    /// <summary>
    /// Starts a conversation for <paramref name="tokens"/> from the entry sharing the longest prefix (forked when live,
    /// copied back when saved), rewound to that prefix, with the rest prompted; without a usable match, a fresh
    /// conversation gets the whole prompt. Returns the conversation and how many tokens were reused.
    /// </summary>
    public (Conversation Conversation, int Reused) Start(BatchedExecutor executor, LLamaToken[] tokens)
    {
        // At least one token must be decoded to get logits for the first reply token.
        var candidates = _entries
            .Select(e => (Entry: e, Length: Math.Min(CommonPrefix(e.Tokens, tokens), tokens.Length - 1)))
            .Where(c => c.Length >= MinimumReuse)
            .ToList();
        // A live entry forks for free; a saved one is copied back whole, which pays only when it saves a real read
        // (a returning conversation), not a few template tokens more than the persona's prefix.
        var live = candidates.Where(c => c.Entry.Live is not null).Select(c => c.Length).DefaultIfEmpty(0).Max();
        candidates = [.. candidates
            .Where(c => c.Entry.Live is not null || c.Length >= live + MinimumReuse)
            .OrderByDescending(c => c.Length)
            .ThenBy(c => c.Entry.Live is null)];

        foreach (var (entry, length) in candidates)
        {
            var conversation = entry.Open(executor);
            if (conversation is null)
            {
                // The saved state no longer fits the live memory: drop it and take the next best.
                Remove(entry);
                continue;
            }
            entry.LastUsed = Environment.TickCount64;
            var extra = conversation.TokenCount - length;
            if (extra > 0) conversation.Rewind(extra);
            conversation.Prompt(tokens.AsSpan(length));
            return (conversation, length);
        }

        var fresh = executor.Create();
        fresh.Prompt(tokens);
        return (fresh, 0);
    }

    /// <summary>True when a live entry already covers the first <paramref name="length"/> tokens.</summary>
    public bool Covers(ReadOnlySpan<LLamaToken> tokens, int length)
    {
        foreach (var entry in _entries)
            if (entry.Live is not null && entry.Tokens.Length >= length && CommonPrefix(entry.Tokens, tokens) >= length)
                return true;
        return false;
    }

    /// <summary>
    /// Keeps a finished conversation whose KV holds exactly <paramref name="tokens"/>: its state is copied to host
    /// memory and the conversation is disposed (ownership passes to the cache in every case).
    /// </summary>
    public void Add(Conversation conversation, LLamaToken[] tokens, string? owner = null)
    {
        if (!Enabled || tokens.Length < MinimumReuse || tokens.Length > tokenBudget || conversation.RequiresInference)
        {
            conversation.Dispose();
            return;
        }

        Conversation.State saved;
        try
        {
            saved = conversation.Save();
        }
        finally
        {
            conversation.Dispose();
        }

        // A new entry that extends an old one makes the old one redundant.
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            var old = _entries[i];
            if (old.Live is null && old.Tokens.Length <= tokens.Length && CommonPrefix(old.Tokens, tokens) == old.Tokens.Length)
                Remove(old);
        }
        _entries.Add(new Entry(tokens, live: null, saved) { LastUsed = Environment.TickCount64, Owner = owner });
        Trim();
    }

    /// <summary>Drops the saved conversations whose owner (a hashed conversation key) is in <paramref name="owners"/>.</summary>
    public int Forget(IReadOnlySet<string> owners)
    {
        var forgotten = 0;
        foreach (var entry in _entries.Where(e => e.Owner is { } owner && owners.Contains(owner)).ToList())
        {
            Remove(entry);
            forgotten++;
        }
        return forgotten;
    }

    /// <summary>Whether a saved conversation of <paramref name="owner"/> is held.</summary>
    public bool Holds(string owner) => _entries.Any(e => e.Owner == owner);

    /// <summary>
    /// Keeps the first <paramref name="length"/> tokens of a running conversation (a persona's system prompt) as a
    /// live shared prefix: a fork rewound to that length. Prefixes stay until evicted, also when a longer entry extends them.
    /// </summary>
    public void AddPrefix(Conversation running, LLamaToken[] tokens, int length)
    {
        if (!Enabled || length < MinimumReuse || Covers(tokens, length)) return;
        var fork = running.Fork();
        var extra = fork.TokenCount - length;
        if (extra > 0) fork.Rewind(extra);
        _entries.Add(new Entry(tokens[..length], fork, saved: null) { LastUsed = Environment.TickCount64 });
        Trim();
    }

    /// <summary>Frees the entries held in live KV memory (the lane ran out of it); saved ones stay.</summary>
    public int ClearLive()
    {
        var freed = 0;
        foreach (var entry in _entries.Where(e => e.Live is not null).ToList())
        {
            freed += entry.Tokens.Length;
            Remove(entry);
        }
        return freed;
    }

    /// <summary>Frees every entry (the lane is being closed).</summary>
    public void Clear()
    {
        foreach (var entry in _entries) entry.Dispose();
        _entries.Clear();
    }

    private void Remove(Entry entry)
    {
        entry.Dispose();
        _entries.Remove(entry);
    }

    private void Trim()
    {
        while (_entries.Count > 0 && (_entries.Count > maxEntries || Tokens > tokenBudget))
            Remove(_entries.MinBy(e => e.LastUsed)!);
    }

    private static int CommonPrefix(ReadOnlySpan<LLamaToken> a, ReadOnlySpan<LLamaToken> b)
    {
        var n = Math.Min(a.Length, b.Length);
        var i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }

    /// <summary>A cached sequence: live in the lane's KV memory, or saved in host memory.</summary>
    private sealed class Entry(LLamaToken[] tokens, Conversation? live, Conversation.State? saved) : IDisposable
    {
        public LLamaToken[] Tokens { get; } = tokens;
        public Conversation? Live { get; } = live;
        public long LastUsed { get; set; }

        /// <summary>The conversation a saved entry belongs to (hashed key), so erasing it can drop the entry.</summary>
        public string? Owner { get; init; }

        /// <summary>A new conversation holding this entry's tokens, or null when a saved state could not be restored.</summary>
        public Conversation? Open(BatchedExecutor executor)
        {
            if (Live is not null) return Live.Fork();
            var conversation = executor.Load(saved!);
            // llama.cpp reports a state that found no room by leaving the sequence empty; never continue from that.
            var last = executor.Context.NativeHandle.MemorySequenceMaxPosition(conversation.ConversationId);
            if (conversation.TokenCount == Tokens.Length && last.Value == Tokens.Length - 1) return conversation;
            conversation.Dispose();
            return null;
        }

        public void Dispose()
        {
            Live?.Dispose();
            saved?.Dispose();
        }
    }
}
