using LLama.Batched;

namespace ChatPlatform.Inference.Local;

/// <summary>
/// One adapter set's share of the inference core: a <see cref="BatchedExecutor"/> whose context carries those
/// adapters, the prompts cached for it, and the conversations waiting to be freed. Used by the engine's loop alone.
/// </summary>
internal sealed class InferenceLane(string key, BatchedExecutor executor, PromptCache cache)
{
    private readonly List<Conversation> _retiring = [];

    public string Key { get; } = key;
    public BatchedExecutor Executor { get; } = executor;
    public PromptCache Cache { get; } = cache;
    public long LastUsed { get; set; }

    /// <summary>
    /// Frees a conversation's KV cells and sequence id. One with a token still queued for decoding is freed after
    /// the lane's next decode: llama.cpp decodes that token anyway, and a new conversation given the same sequence
    /// id meanwhile would find it in its way.
    /// </summary>
    public void Retire(Conversation conversation)
    {
        if (conversation.RequiresInference && !conversation.IsDisposed) _retiring.Add(conversation);
        else conversation.Dispose();
    }

    /// <summary>After each successful decode: frees the retired conversations whose queued tokens are done.</summary>
    public void Decoded()
    {
        for (var i = _retiring.Count - 1; i >= 0; i--)
        {
            if (_retiring[i].RequiresInference) continue;
            _retiring[i].Dispose();
            _retiring.RemoveAt(i);
        }
    }

    public void Close()
    {
        Cache.Clear();
        _retiring.Clear();
        Executor.Dispose();
    }
}
