using ChatPlatform.Core.Personas;
using Microsoft.Extensions.AI;

namespace ChatPlatform.Core.Chat;

/// <summary>
/// Carries a persona's generation settings and adapters to any <see cref="IChatClient"/>:
/// standard settings go into <see cref="ChatOptions"/>, the rest into its additional properties.
/// </summary>
public static class PersonaChatOptions
{
    public const string PersonaKey = "chatplatform.persona";
    public const string AdaptersKey = "chatplatform.adapters";
    public const string RepeatPenaltyKey = "chatplatform.repeat_penalty";
    public const string ConversationKey = "chatplatform.conversation";
    public const string ChannelKey = "chatplatform.channel";
    public const string LocaleKey = "chatplatform.locale";

    /// <summary>A string value the orchestrator put into the options, or null.</summary>
    public static string? GetString(ChatOptions? options, string key) =>
        options?.AdditionalProperties?.TryGetValue(key, out var value) == true ? value as string : null;

    public static ChatOptions Create(PersonaPack pack, IReadOnlyList<AdapterRef>? adapterOverride = null, long? seedOverride = null)
    {
        var g = pack.Generation;
        var options = new ChatOptions
        {
            Temperature = g.Temperature,
            TopP = g.TopP,
            TopK = g.TopK,
            MaxOutputTokens = g.MaxTokens,
            Seed = seedOverride ?? g.Seed,
            StopSequences = g.Stop.Count > 0 ? [.. g.Stop] : null,
            ModelId = pack.Id,
            AdditionalProperties = new AdditionalPropertiesDictionary
            {
                [PersonaKey] = pack.Id,
                [AdaptersKey] = adapterOverride ?? pack.Adapters,
                [RepeatPenaltyKey] = g.RepeatPenalty,
            },
        };
        return options;
    }

    public static IReadOnlyList<AdapterRef> GetAdapters(ChatOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(AdaptersKey, out var value) == true && value is IReadOnlyList<AdapterRef> adapters
            ? adapters
            : [];

    public static float? GetRepeatPenalty(ChatOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(RepeatPenaltyKey, out var value) == true && value is float f ? f : null;
}
