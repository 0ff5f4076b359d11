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

    /// <summary>The <see cref="PersonaPack"/> being served, a draft in the playground or the live one.</summary>
    public const string PackKey = "chatplatform.pack";

    /// <summary>Where the turn's safety events go (<see cref="Safety.ISafetyEventSink"/>); a trial turn's sink keeps them to itself.</summary>
    public const string SafetyEventsKey = "chatplatform.safety_events";

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
                [PackKey] = pack,
                [AdaptersKey] = adapterOverride ?? pack.Adapters,
                [RepeatPenaltyKey] = g.RepeatPenalty,
            },
        };
        return options;
    }

    /// <summary>The pack the turn is served with, or null when the options do not carry one.</summary>
    public static PersonaPack? GetPack(ChatOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(PackKey, out var value) == true ? value as PersonaPack : null;

    /// <summary>The sink the turn's safety events go to, or null when the options name none.</summary>
    public static Safety.ISafetyEventSink? GetSafetyEvents(ChatOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(SafetyEventsKey, out var value) == true ? value as Safety.ISafetyEventSink : null;

    public static IReadOnlyList<AdapterRef> GetAdapters(ChatOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(AdaptersKey, out var value) == true && value is IReadOnlyList<AdapterRef> adapters
            ? adapters
            : [];

    public static float? GetRepeatPenalty(ChatOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(RepeatPenaltyKey, out var value) == true && value is float f ? f : null;
}
