using Microsoft.AspNetCore.Components.Authorization;
using MudBlazor;

namespace ChatPlatform.Admin.Security;

/// <summary>
/// The check every change made from a console page runs first, on the server: the circuit's principal is checked
/// against its account as it stands now (<see cref="ConsoleAccess"/>), not only against the roles cached when the
/// circuit started. A refusal is shown and nothing is changed.
/// </summary>
public sealed class ConsoleGuard(AuthenticationStateProvider authentication, ConsoleAccess access, ISnackbar snackbar)
{
    public const string Refused = "Your account no longer has access to this, so nothing was changed. Sign in again.";

    /// <summary>True when the signed-in account may do what <paramref name="policy"/> guards; otherwise shows why not.</summary>
    public async Task<bool> AllowsAsync(string policy)
    {
        var user = (await authentication.GetAuthenticationStateAsync()).User;
        if (await access.AllowsAsync(user, policy, CancellationToken.None)) return true;
        snackbar.Add(Refused, Severity.Error);
        return false;
    }
}
