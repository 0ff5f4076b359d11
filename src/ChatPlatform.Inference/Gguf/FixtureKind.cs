namespace ChatPlatform.Inference.Gguf;

/// <summary>The synthetic GGUF files <see cref="FixtureModels"/> can write.</summary>
public enum FixtureKind
{
    /// <summary>A tiny llama-architecture chat model (ChatML template, English and Chinese word pieces); loads in milliseconds.</summary>
    Tiny,

    /// <summary>A LoRA adapter for a given base model.</summary>
    Lora,

    /// <summary>A random model with Qwen2-0.5B's shapes (494 M parameters), for load and speed checks.</summary>
    Qwen2Shape,
}
