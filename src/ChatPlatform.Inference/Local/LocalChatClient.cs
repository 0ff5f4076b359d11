using System.Runtime.CompilerServices;
using System.Text;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using LLama;
using LLama.Native;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Inference.Local;

/// <summary>
/// <see cref="IChatClient"/> over the shared local inference core. Formats the conversation with the model's own
/// chat template (system prompt first), keeps it inside the context window by dropping the oldest turns, and
/// streams the reply as it is decoded.
/// </summary>
public sealed partial class LocalChatClient(
    LocalModel model,
    InferenceEngine engine,
    ModelOptions modelOptions,
    ILogger<LocalChatClient> logger) : IChatClient
{
    /// <summary>Additional property on the first update: how many earlier messages were left out to fit the window.</summary>
    public const string DroppedMessagesKey = "chatplatform.dropped_messages";

    /// <summary>Option: keep generating to the token limit even after the end-of-turn token (for benchmarks).</summary>
    public const string IgnoreEndOfTurnKey = "chatplatform.ignore_eos";

    /// <summary>Usage count: prompt tokens reused from the prompt cache rather than decoded.</summary>
    public const string CachedInputTokensKey = "cached_input_tokens";

    private const int DefaultMaxTokens = 512;

    private readonly ChatClientMetadata _metadata = new("chatplatform-local", null, model.Name);

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // The tokenizer reads the model's memory directly: a turn that arrives while the application is stopping (or
        // after the model was released) stops here rather than reading memory that is gone.
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(model.IsDisposed, model);
        var maxTokens = Math.Clamp(options?.MaxOutputTokens ?? DefaultMaxTokens, 1, modelOptions.ContextSize - 1);
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        var (tokens, dropped) = FitPrompt([.. list], maxTokens);
        if (dropped > 0) LogDropped(dropped);

        var request = new GenerationRequest(
            tokens,
            PersonaChatOptions.GetAdapters(options),
            new SamplingSettings(
                options?.Temperature ?? 0.7f,
                options?.TopP ?? 0.9f,
                options?.TopK ?? 40,
                PersonaChatOptions.GetRepeatPenalty(options) ?? 1.0f,
                options?.Seed is { } seed ? unchecked((uint)seed) : (uint)Random.Shared.Next(),
                options?.AdditionalProperties?.TryGetValue(IgnoreEndOfTurnKey, out var ignore) == true && ignore is true),
            maxTokens,
            options?.StopSequences is { Count: > 0 } stops ? [.. stops] : [],
            SharedPrefixLength(list, tokens),
            Owner(options));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(modelOptions.RequestTimeoutSeconds));
        var reader = engine.Submit(request, timeout.Token);
        var responseId = Guid.NewGuid().ToString("N");
        var first = true;

        // A caller that stops reading early (a client that went away) frees the conversation's slot at once.
        using var stopOnExit = new StopOnDispose(timeout);
        await foreach (var item in reader.ReadAllAsync(CancellationToken.None))
        {
            var update = new ChatResponseUpdate { Role = ChatRole.Assistant, ResponseId = responseId, ModelId = model.Name, CreatedAt = DateTimeOffset.UtcNow };
            if (first && dropped > 0)
                update.AdditionalProperties = new() { [DroppedMessagesKey] = dropped };
            first = false;
            switch (item)
            {
                case GenerationText text:
                    update.Contents.Add(new TextContent(text.Text));
                    break;
                case GenerationFinished done:
                    update.FinishReason = done.Reason == "length" ? ChatFinishReason.Length : ChatFinishReason.Stop;
                    update.Contents.Add(new UsageContent(new UsageDetails
                    {
                        InputTokenCount = done.PromptTokens,
                        OutputTokenCount = done.OutputTokens,
                        TotalTokenCount = done.PromptTokens + done.OutputTokens,
                        AdditionalCounts = new() { [CachedInputTokensKey] = done.CachedPromptTokens },
                    }));
                    break;
            }
            yield return update;
        }
    }

    /// <summary>
    /// Renders the conversation with the model's template. When it would not leave room for the reply, the oldest
    /// turns after the system prompt are dropped; the system prompt and the newest message always stay.
    /// </summary>
    internal (LLamaToken[] Tokens, int Dropped) FitPrompt(List<ChatMessage> messages, int maxTokens)
    {
        var budget = modelOptions.ContextSize - maxTokens;
        var dropped = 0;
        while (true)
        {
            var tokens = Tokenize(Render(model.Weights, messages));
            if (tokens.Length <= budget) return (tokens, dropped);

            var first = messages.Count > 0 && messages[0].Role == ChatRole.System ? 1 : 0;
            if (messages.Count - first <= 1)
                throw new ChatRejectedException(new ChatError(ChatErrorKind.TooLarge, ChatOrchestrator.ContextOverflowCode,
                    $"The message needs {tokens.Length} tokens with the persona's instructions, but only {budget} fit the model's window of {modelOptions.ContextSize} tokens next to the reply. Please send a shorter message."));
            messages.RemoveAt(first);
            dropped++;
        }
    }

    /// <summary>
    /// How many leading prompt tokens are the templated system prompt alone, the part a persona's conversations share
    /// (0 when there is no system prompt or it does not tokenise to a true prefix of the prompt).
    /// </summary>
    /// <summary>The conversation a turn belongs to, as the hashed key an erasure names it by; null outside a conversation.</summary>
    private static string? Owner(ChatOptions? options) =>
        PersonaChatOptions.GetString(options, PersonaChatOptions.ChannelKey) is { } channel
        && PersonaChatOptions.GetString(options, PersonaChatOptions.ConversationKey) is { } conversation
            ? ChatPlatform.Core.Privacy.ConversationKeys.Hash(channel, conversation)
            : null;

    private int SharedPrefixLength(IList<ChatMessage> messages, LLamaToken[] prompt)
    {
        if (messages.Count == 0 || messages[0].Role != ChatRole.System) return 0;
        var prefix = Tokenize(Render(model.Weights, [(messages[0].Role.Value, messages[0].Text)], openReply: false));
        return prefix.Length < prompt.Length && prompt.AsSpan(0, prefix.Length).SequenceEqual(prefix) ? prefix.Length : 0;
    }

    private LLamaToken[] Tokenize(string text) => model.Weights.Tokenize(text, true, true, Encoding.UTF8);

    /// <summary>Applies the model's own chat template (from GGUF metadata) and opens the assistant's turn.</summary>
    public static string Render(LLamaWeights weights, IEnumerable<ChatMessage> messages) =>
        Render(weights, messages.Select(m => (m.Role.Value, m.Text)), openReply: true);

    /// <summary>
    /// Applies the model's own chat template to role/text pairs, opening the assistant's turn when
    /// <paramref name="openReply"/>. Serving and adapter training both format through here, so a trained adapter sees
    /// prompts exactly as they are served.
    /// </summary>
    public static string Render(LLamaWeights weights, IEnumerable<(string Role, string Text)> messages, bool openReply)
    {
        var template = new LLamaTemplate(weights) { AddAssistant = openReply };
        foreach (var (role, text) in messages)
            template.Add(role, text);
        return Encoding.UTF8.GetString(template.Apply());
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? _metadata
        : serviceType == typeof(LocalModel) ? model
        : serviceType == typeof(InferenceEngine) ? engine
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
        // The model and the engine are shared and owned by the host.
    }

    private sealed class StopOnDispose(CancellationTokenSource source) : IDisposable
    {
        public void Dispose() => source.Cancel();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped the {Count} oldest message(s) so the conversation fits the context window")]
    private partial void LogDropped(int count);
}
