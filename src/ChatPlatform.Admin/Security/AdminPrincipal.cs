using System.Security.Claims;
using ChatPlatform.Data.Admin;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace ChatPlatform.Admin.Security;

/// <summary>The claims a signed-in console user carries: name, roles and the account's security stamp.</summary>
public static class AdminPrincipal
{
    /// <summary>The claim holding <see cref="AdminAccountRecord.SecurityStamp"/> as it was at sign-in.</summary>
    public const string StampClaim = "chatplatform:stamp";

    public static ClaimsPrincipal Create(AdminAccountRecord account)
    {
        ArgumentNullException.ThrowIfNull(account);
        var claims = new List<Claim> { new(ClaimTypes.Name, account.UserName), new(ClaimTypes.NameIdentifier, account.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)) };
        claims.Add(new Claim(StampClaim, account.SecurityStamp));
        claims.AddRange(account.Roles.Select(r => new Claim(ClaimTypes.Role, r.Role)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme));
    }

    /// <summary>The user name written to the audit log.</summary>
    public static string Actor(ClaimsPrincipal? user) => user?.Identity?.Name ?? "unknown";
}
