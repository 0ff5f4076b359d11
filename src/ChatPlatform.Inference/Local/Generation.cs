using LLama.Native;
using ChatPlatform.Core.Personas;

namespace ChatPlatform.Inference.Local;

/// <summary>Sampling settings for one reply. <paramref name="IgnoreEndOfTurn"/> keeps generating to the token limit (benchmarks).</summary>
public sealed record SamplingSettings(float Temperature, float TopP, int TopK, float RepeatPenalty, uint Seed, bool IgnoreEndOfTurn = false);

/// <summary>One reply to generate: the fully templated prompt and how to continue it.</summary>
/// <param name="PromptTokens">The templated prompt, tokenised.</param>
/// <param name="SharedPrefixLength">Leading prompt tokens worth keeping decoded for other conversations (the templated system prompt); 0 for none.</param>
public sealed record GenerationRequest(
    IReadOnlyList<LLamaToken> PromptTokens,
    IReadOnlyList<AdapterRef> Adapters,
    SamplingSettings Sampling,
    int MaxTokens,
    IReadOnlyList<string> Stops,
    int SharedPrefixLength = 0,
    string? Owner = null);

/// <summary>What the engine reports while it generates.</summary>
public abstract record GenerationEvent;

public sealed record GenerationText(string Text) : GenerationEvent;

/// <summary>
/// The reply ended: <c>stop</c> (end of turn or stop sequence) or <c>length</c> (token limit or context full).
/// <paramref name="CachedPromptTokens"/> of the prompt came from the prompt cache instead of being decoded.
/// </summary>
public sealed record GenerationFinished(string Reason, int PromptTokens, int OutputTokens, int CachedPromptTokens) : GenerationEvent;
