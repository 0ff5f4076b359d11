using ChatPlatform.Core.Chat;

namespace ChatPlatform.Channels.BotFramework;

/// <summary>A channel-side identity a persona can be bound to: a Teams tenant or team, a Slack workspace, a bot app id.</summary>
public sealed record BindingKey(string Channel, string EndpointId);

/// <summary>
/// Which persona a bot activity is bound to, through the store's one binding lookup (which the console edits).
/// </summary>
public sealed class BotDirectory(IChannelBindingLookup bindings)
{
    /// <summary>The persona of the first enabled binding among <paramref name="keys"/>, in their order.</summary>
    public async Task<string?> FindPersonaAsync(IReadOnlyList<BindingKey> keys, CancellationToken cancellationToken)
    {
        foreach (var key in keys)
            if (await bindings.FindPersonaAsync(key.Channel, key.EndpointId, cancellationToken) is { } bound)
                return bound.PersonaId;
        return null;
    }
}
