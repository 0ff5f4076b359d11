using LLama;
using LLama.Native;

namespace ChatPlatform.Inference.Tests.Gguf;

/// <summary>Plain greedy decoding (arg-max of the logits) for checks against real llama.cpp output.</summary>
internal static class Greedy
{
    /// <summary>Decodes the prompt and returns a copy of the logits for its last token.</summary>
    public static float[] NextTokenLogits(LLamaContext context, IReadOnlyList<LLamaToken> prompt)
    {
        var batch = PromptBatch(prompt);
        Decode(context, batch);
        return context.NativeHandle.GetLogitsIth(batch.TokenCount - 1).ToArray();
    }

    /// <summary>Generates up to <paramref name="maxTokens"/> tokens greedily; stops at end of generation.</summary>
    public static (string Text, IReadOnlyList<LLamaToken> Tokens, bool Ended) Generate(
        LLamaContext context, IReadOnlyList<LLamaToken> prompt, int maxTokens)
    {
        var batch = PromptBatch(prompt);
        Decode(context, batch);
        var decoder = new StreamingTokenDecoder(context);
        var vocabulary = context.NativeHandle.ModelHandle.Vocab;
        var generated = new List<LLamaToken>();
        var position = prompt.Count;
        while (generated.Count < maxTokens)
        {
            var token = ArgMax(context.NativeHandle.GetLogitsIth(batch.TokenCount - 1));
            if (token.IsEndOfGeneration(vocabulary))
            {
                return (decoder.Read(), generated, true);
            }

            generated.Add(token);
            decoder.Add(token);
            batch.Clear();
            batch.Add(token, position++, LLamaSeqId.Zero, true);
            Decode(context, batch);
        }

        return (decoder.Read(), generated, false);
    }

    public static LLamaToken ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return (LLamaToken)best;
    }

    private static LLamaBatch PromptBatch(IReadOnlyList<LLamaToken> prompt)
    {
        var batch = new LLamaBatch();
        for (var i = 0; i < prompt.Count; i++)
        {
            batch.Add(prompt[i], i, LLamaSeqId.Zero, i == prompt.Count - 1);
        }

        return batch;
    }

    private static void Decode(LLamaContext context, LLamaBatch batch)
    {
        var result = context.Decode(batch);
        if (result != DecodeResult.Ok)
        {
            throw new InvalidOperationException($"llama_decode failed: {result}");
        }
    }
}
