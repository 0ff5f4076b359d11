using System.Text;
using System.Threading.Channels;
using LLama;
using LLama.Batched;
using LLama.Native;
using LLama.Sampling;

namespace ChatPlatform.Inference.Local;

/// <summary>
/// One request in the <see cref="InferenceEngine"/>: waiting, then decoding on a lane, its text and end written to
/// <see cref="Output"/>. Touched only by the engine's loop once admitted.
/// </summary>
internal sealed class InferenceSequence(GenerationRequest request, CancellationToken cancellationToken)
{
    public GenerationRequest Request { get; } = request;
    public CancellationToken CancellationToken { get; } = cancellationToken;
    public CancellationTokenRegistration CancelRegistration { get; set; }
    public Channel<GenerationEvent> Output { get; } = Channel.CreateUnbounded<GenerationEvent>(new() { SingleReader = true, SingleWriter = true });
    public StopSequenceFilter Filter { get; } = new(request.Stops);
    public InferenceLane? Lane { get; private set; }
    public Conversation? Conversation { get; private set; }
    public DefaultSamplingPipeline? Sampler { get; private set; }
    public StreamingTokenDecoder? Decoder { get; private set; }
    public int PromptTokens { get; private set; }
    public int CachedPromptTokens { get; private set; }
    public int OutputTokens { get; set; }
    public bool Finished { get; private set; }
    private Exception? _error;
    public int PrefixLength { get; private set; }
    public bool PrefixOffered { get; set; }
    public LLamaToken[]? PromptTokenArray { get; private set; }

    /// <summary>Every token in the conversation's KV cache, in order.</summary>
    public List<LLamaToken> Tokens { get; } = [];

    public void Start(InferenceLane lane, LLamaToken[] tokens, int prefixLength, LLamaWeights weights)
    {
        Lane = lane;
        PromptTokens = tokens.Length;
        PromptTokenArray = tokens;
        PrefixLength = prefixLength;
        Tokens.AddRange(tokens);
        var s = Request.Sampling;
        Sampler = new DefaultSamplingPipeline
        {
            Temperature = s.Temperature,
            TopP = s.TopP,
            TopK = s.TopK,
            RepeatPenalty = s.RepeatPenalty,
            Seed = s.Seed,
            PreventEOS = s.IgnoreEndOfTurn,
        };
        Decoder = new StreamingTokenDecoder(Encoding.UTF8, weights);
        (Conversation, CachedPromptTokens) = lane.Cache.Start(lane.Executor, tokens);
    }

    public void Finish(string reason)
    {
        if (Finished) return;
        var rest = Filter.Flush();
        if (rest.Length > 0) Output.Writer.TryWrite(new GenerationText(rest));
        Output.Writer.TryWrite(new GenerationFinished(reason, PromptTokens, OutputTokens, CachedPromptTokens));
        Finished = true;
        // A finished conversation is kept so its next turn continues without re-reading the history.
        if (Conversation is { } conversation && Lane is { } lane)
        {
            Conversation = null;
            if (conversation.RequiresInference) lane.Retire(conversation);
            else lane.Cache.Add(conversation, [.. Tokens], Request.Owner);
        }
    }

    public void Fail(Exception error)
    {
        if (Finished) return;
        _error = error;
        Finished = true;
    }

    /// <summary>
    /// Ends the output (with the failure, if any). The engine calls it once it has freed the sequence's slot, so a
    /// caller that has read the whole reply can be sure the slot is free for its next request.
    /// </summary>
    public void Close() => Output.Writer.TryComplete(_error);

    public void Release()
    {
        CancelRegistration.Dispose();
        if (Conversation is { } conversation) Lane!.Retire(conversation);
        Conversation = null;
        Sampler?.Dispose();
        Sampler = null;
    }
}
