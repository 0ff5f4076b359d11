namespace ChatPlatform.Core.Chat;

/// <summary>The persona (and locale) an operator bound to a channel endpoint, such as a Slack team.</summary>
public sealed record BoundPersona(string PersonaId, string? Locale);

/// <summary>Finds which persona answers on a channel endpoint (bindings edited in the admin console).</summary>
public interface IChannelBindingLookup
{
    /// <summary>The enabled binding of <paramref name="endpointId"/> on <paramref name="channel"/>, or null.</summary>
    Task<BoundPersona?> FindPersonaAsync(string channel, string endpointId, CancellationToken cancellationToken);
}
