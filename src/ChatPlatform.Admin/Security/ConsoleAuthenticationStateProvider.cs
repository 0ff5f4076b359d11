using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Admin.Security;

/// <summary>How often open console sessions are checked against their accounts.</summary>
public sealed class ConsoleSessionOptions
{
    /// <summary>The configuration key of <see cref="RevalidateEvery"/>, in seconds.</summary>
    public const string RevalidateSecondsKey = "ChatPlatform:Admin:RevalidateSeconds";

    /// <summary>At most a minute: a disabled or demoted account's open tabs lose access within this time.</summary>
    public TimeSpan RevalidateEvery { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// The authentication state of an interactive console circuit, checked again every
/// <see cref="ConsoleSessionOptions.RevalidateEvery"/>: when the account is disabled, deleted, reset or no longer holds
/// a role of the principal, the circuit becomes anonymous and its pages send the browser to the login page.
/// </summary>
public sealed class ConsoleAuthenticationStateProvider(ILoggerFactory loggerFactory, ConsoleAccess access, ConsoleSessionOptions options)
    : RevalidatingServerAuthenticationStateProvider(loggerFactory)
{
    protected override TimeSpan RevalidationInterval => options.RevalidateEvery;

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState authenticationState, CancellationToken cancellationToken) =>
        authenticationState.User.Identity?.IsAuthenticated != true || await access.IsCurrentAsync(authenticationState.User, cancellationToken);
}
