using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using LLama.Batched;
using LLama.Common;

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
    /// A new lane on <paramref name="model"/>'s weights: one context sized for every conversation the engine admits
    /// plus the cached prompts, with <paramref name="adapters"/> applied to it.
    /// </summary>
    public static InferenceLane Open(string key, LocalModel model, ModelOptions options, IReadOnlyList<AdapterRef> adapters, int maxCacheEntries)
    {
        var parameters = new ModelParams(model.Path)
        {
            ContextSize = (uint)(options.ContextSize * options.MaxConcurrentConversations + options.PromptCacheTokens),
            SeqMax = (uint)Math.Min(256, options.MaxConcurrentConversations + maxCacheEntries + 2),
            KVUnified = true,
            Threads = options.EffectiveThreads,
            BatchThreads = options.EffectiveThreads,
            BatchSize = 512,
            GpuLayerCount = 0,
        };
        var executor = new BatchedExecutor(model.Weights, parameters);
        try
        {
            if (adapters.Count > 0)
            {
                var set = adapters.Select(a => (model.GetAdapter(a.Path), a.Scale)).ToArray();
                executor.Context.NativeHandle.SetLoraAdapters(set);
            }
        }
        catch
        {
            executor.Dispose();
            throw;
        }
        return new InferenceLane(key, executor, new PromptCache(options.PromptCacheTokens, maxCacheEntries));
    }

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
