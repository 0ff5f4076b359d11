using System.Security.Claims;
using ChatPlatform.Data.Admin;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace ChatPlatform.Admin.Security;

/// <summary>The claims a signed-in console user carries: name and roles.</summary>
public static class AdminPrincipal
{
    public static ClaimsPrincipal Create(AdminAccountRecord account)
    {
        ArgumentNullException.ThrowIfNull(account);
        var claims = new List<Claim> { new(ClaimTypes.Name, account.UserName), new(ClaimTypes.NameIdentifier, account.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)) };
        claims.AddRange(account.Roles.Select(r => new Claim(ClaimTypes.Role, r.Role)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme));
    }

    /// <summary>The user name written to the audit log.</summary>
    public static string Actor(ClaimsPrincipal? user) => user?.Identity?.Name ?? "unknown";
}
