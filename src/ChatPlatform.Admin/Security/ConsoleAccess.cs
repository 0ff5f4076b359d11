using System.Security.Claims;
using ChatPlatform.Data.Admin;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPlatform.Admin.Security;

/// <summary>
/// Checks a console principal against its account as it stands now: the sign-in cookie, the revalidation of open
/// Blazor circuits and every change made through the console use this one check, so a disabled or demoted account
/// loses its rights everywhere in the same way.
/// </summary>
public sealed class ConsoleAccess(AdminAccounts accounts, IAuthorizationService authorization)
{
    /// <summary>
    /// The principal with the roles its account holds now, or null when the account is gone or disabled, or its
    /// security stamp changed since sign-in (disabled, enabled, role changed, password reset).
    /// </summary>
    public async Task<ClaimsPrincipal?> CurrentAsync(ClaimsPrincipal? user, CancellationToken cancellationToken)
    {
        if (user?.Identity is not { IsAuthenticated: true, Name: { } name }) return null;
        var state = await accounts.SessionStateAsync(name, cancellationToken);
        if (state is null || !string.Equals(state.SecurityStamp, user.FindFirstValue(AdminPrincipal.StampClaim), StringComparison.Ordinal))
            return null;
        var claims = user.Claims.Where(c => c.Type != ClaimTypes.Role).Select(c => new Claim(c.Type, c.Value))
            .Concat(state.Roles.Select(r => new Claim(ClaimTypes.Role, r)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme));
    }

    /// <summary>True while the account is valid (see <see cref="CurrentAsync"/>) and still holds every role the principal carries.</summary>
    public async Task<bool> IsCurrentAsync(ClaimsPrincipal? user, CancellationToken cancellationToken)
    {
        var current = await CurrentAsync(user, cancellationToken);
        return current is not null && user!.FindAll(ClaimTypes.Role).All(c => current.IsInRole(c.Value));
    }

    /// <summary>Whether the account behind <paramref name="user"/>, as it stands now, passes <paramref name="policy"/>.</summary>
    public async Task<bool> AllowsAsync(ClaimsPrincipal? user, string policy, CancellationToken cancellationToken)
    {
        var current = await CurrentAsync(user, cancellationToken);
        return current is not null && (await authorization.AuthorizeAsync(current, policy)).Succeeded;
    }
}

/// <summary>The console API side of <see cref="ConsoleAccess"/>.</summary>
public static class ConsoleAccessEndpoints
{
    /// <summary>
    /// Every request of the group that changes something (not GET, HEAD or OPTIONS) is checked against the account as it
    /// stands now and answered 403 when it no longer passes <paramref name="policy"/>, however recently its cookie was
    /// validated.
    /// </summary>
    public static TBuilder RequireCurrentAccount<TBuilder>(this TBuilder builder, string policy) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method) || HttpMethods.IsOptions(http.Request.Method))
                return await next(context);
            var access = http.RequestServices.GetRequiredService<ConsoleAccess>();
            return await access.AllowsAsync(http.User, policy, http.RequestAborted)
                ? await next(context)
                : TypedResults.Problem(title: "forbidden", detail: ConsoleGuard.Refused, statusCode: StatusCodes.Status403Forbidden);
        });
}
