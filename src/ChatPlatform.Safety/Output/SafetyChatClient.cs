using System.Runtime.CompilerServices;
using System.Text;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Metrics;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using Microsoft.Extensions.AI;

namespace ChatPlatform.Safety.Output;

/// <summary>
/// Output rails around any chat client. Streamed text is held back until a sentence is complete, checked by
/// <see cref="OutputRails"/>, and only then released, so a blocked sentence never reaches the user. On a block the
/// reply ends with a safe replacement (finish reason <see cref="ChatFinishReason.ContentFilter"/>) and an event is
/// recorded. The persona's disclaimer is added at the end of a health persona's replies and after any block.
/// </summary>
public sealed class SafetyChatClient(
    IChatClient inner, OutputRails rails, IPersonaCatalog? personas = null, ISafetyEventSink? events = null, ChatPlatformMetrics? metrics = null)
    : DelegatingChatClient(inner)
{
    /// <summary>Text held back longer than this is checked and released even without a sentence end.</summary>
    public const int MaxHeldChars = 400;

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        var systemPrompt = list.FirstOrDefault(m => m.Role == ChatRole.System)?.Text;
        var normalizedPrompt = string.IsNullOrEmpty(systemPrompt) ? null : rails.Rules.Normalizer.Normalize(systemPrompt);
        // The pack being served and the sink of this turn travel with it, so a playground draft is checked against
        // its own texts and its trial blocks stay out of the review queue.
        var personaId = PersonaChatOptions.GetString(options, PersonaChatOptions.PersonaKey);
        var pack = PersonaChatOptions.GetPack(options) ?? (personaId is null ? null : personas?.Find(personaId));
        var locale = PersonaChatOptions.GetString(options, PersonaChatOptions.LocaleKey) ?? pack?.DefaultLocale ?? "en";

        var held = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatResponseUpdate? last = null;
        await foreach (var update in base.GetStreamingResponseAsync(list, options, cancellationToken))
        {
            last = update;
            finish = update.FinishReason ?? finish;
            var other = update.Contents.Where(c => c is not TextContent).ToList();
            if (other.Count > 0)
                yield return new ChatResponseUpdate(update.Role ?? ChatRole.Assistant, other) { ModelId = update.ModelId, ResponseId = update.ResponseId };
            if (string.IsNullOrEmpty(update.Text)) continue;

            held.Append(update.Text);
            while (NextSentenceEnd(held) is var end and > 0)
            {
                var sentence = held.ToString(0, end);
                held.Remove(0, end);
                if (rails.Check(sentence, normalizedPrompt) is var block and not OutputBlock.None)
                {
                    yield return await BlockAsync(block, pack, locale, options, update.ModelId, cancellationToken);
                    yield break;
                }
                yield return Text(sentence, update.ModelId);
            }
        }

        if (held.Length > 0)
        {
            var rest = held.ToString();
            if (rails.Check(rest, normalizedPrompt) is var block and not OutputBlock.None)
            {
                yield return await BlockAsync(block, pack, locale, options, last?.ModelId, cancellationToken);
                yield break;
            }
            yield return Text(rest, last?.ModelId);
        }

        if (pack is not null && pack.Domain == PersonaPack.HealthDomain && pack.Safety.Rails.Contains(SafetyRails.Output) && pack.DisclaimerFor(locale) is { } disclaimer)
            yield return Text("\n\n" + disclaimer, last?.ModelId);
        yield return new ChatResponseUpdate { Role = ChatRole.Assistant, FinishReason = finish ?? ChatFinishReason.Stop, ModelId = last?.ModelId };
    }

    /// <summary>Length of the first complete sentence in the held text (its end mark and following space included), or 0.</summary>
    internal static int NextSentenceEnd(StringBuilder held)
    {
        for (var i = 0; i < held.Length; i++)
        {
            var c = held[i];
            if (c is '。' or '！' or '？' or '；' or '\n')
                return i + 1;
            if (c is '.' or '!' or '?' or ';' && i + 1 < held.Length && char.IsWhiteSpace(held[i + 1]))
                return i + 2;
        }
        return held.Length > MaxHeldChars ? held.Length : 0;
    }

    private async Task<ChatResponseUpdate> BlockAsync(OutputBlock block, PersonaPack? pack, string locale, ChatOptions? options, string? modelId, CancellationToken cancellationToken)
    {
        metrics?.RecordRailHit(SafetyRails.Output, "block");
        if ((PersonaChatOptions.GetSafetyEvents(options) ?? events) is { } sink)
            await sink.RecordAsync(new SafetyEvent(
                PersonaChatOptions.GetString(options, PersonaChatOptions.ChannelKey) ?? "unknown",
                PersonaChatOptions.GetString(options, PersonaChatOptions.ConversationKey) ?? "",
                pack?.Id ?? "", SafetyRails.Output, block == OutputBlock.HarmfulContent ? SafetySeverity.High : SafetySeverity.Medium,
                "blocked:" + block, null, DateTimeOffset.UtcNow), cancellationToken);
        var zh = locale.StartsWith("zh", StringComparison.OrdinalIgnoreCase);
        var replacement = zh
            ? "抱歉，这部分内容我不能提供。"
            : "Sorry, I can't share that part.";
        if (pack?.DisclaimerFor(locale) is { } disclaimer) replacement += " " + disclaimer;
        return new ChatResponseUpdate(ChatRole.Assistant, replacement) { FinishReason = ChatFinishReason.ContentFilter, ModelId = modelId };
    }

    private static ChatResponseUpdate Text(string text, string? modelId) => new(ChatRole.Assistant, text) { ModelId = modelId };
}
