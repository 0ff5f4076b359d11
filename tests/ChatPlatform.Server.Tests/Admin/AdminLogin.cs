using System.Net;
using System.Text.RegularExpressions;
using Bunit;
using ChatPlatform.Data.Admin;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPlatform.Server.Tests.Admin;

/// <summary>Signs in to the console the way a browser does: GET the login form, POST it back with its hidden fields.</summary>
internal static partial class AdminLogin
{
    public static HttpClient Client(WebApplicationFactory<Program> factory) =>
        factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

    /// <summary>Creates an account with <paramref name="role"/> and returns its one-time password.</summary>
    public static Task<string> CreateAccountAsync(WebApplicationFactory<Program> factory, string user, string role, CancellationToken cancellationToken) =>
        factory.Services.GetRequiredService<AdminAccounts>().CreateAsync(user, role, "test", cancellationToken);

    /// <summary>Posts the login form; the response is the form's answer (302 on success).</summary>
    public static async Task<HttpResponseMessage> PostAsync(HttpClient client, string user, string password, CancellationToken cancellationToken, bool withAntiforgery = true)
    {
        var page = await client.GetStringAsync(new Uri("/admin/login", UriKind.Relative), cancellationToken);
        var fields = HiddenInputs().Matches(page).ToDictionary(m => WebUtility.HtmlDecode(m.Groups["name"].Value), m => WebUtility.HtmlDecode(m.Groups["value"].Value));
        if (!withAntiforgery) fields.Remove("__RequestVerificationToken");
        fields["Input.UserName"] = user;
        fields["Input.Password"] = password;
        using var form = new FormUrlEncodedContent(fields);
        return await client.PostAsync(new Uri("/admin/login", UriKind.Relative), form, cancellationToken);
    }

    public static async Task SignInAsync(HttpClient client, string user, string password, CancellationToken cancellationToken)
    {
        using var response = await PostAsync(client, user, password, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Redirect)
            throw new InvalidOperationException($"Sign-in as {user} answered {(int)response.StatusCode}.");
    }

    /// <summary>
    /// Signs bUnit-rendered console pages in as a real account with <paramref name="role"/> (created, or given that role
    /// when it exists), carrying the account's security stamp as a signed-in session does; the host's own access checks
    /// and policies decide what it may do.
    /// </summary>
    public static void SignInComponents(BunitContext context, WebApplicationFactory<Program> factory, string user, string role)
    {
        var accounts = factory.Services.GetRequiredService<AdminAccounts>();
        var ct = Xunit.TestContext.Current.CancellationToken;
        try
        {
            accounts.CreateAsync(user, role, "test", ct).GetAwaiter().GetResult();
        }
        catch (InvalidOperationException)
        {
            accounts.SetRoleAsync(user, role, "test", ct).GetAwaiter().GetResult();
        }
        var stamp = accounts.SessionStateAsync(user, ct).GetAwaiter().GetResult()!.SecurityStamp;
        var auth = context.AddAuthorization();
        auth.SetAuthorized(user);
        auth.SetRoles(role);
        auth.SetClaims(new System.Security.Claims.Claim(ChatPlatform.Admin.Security.AdminPrincipal.StampClaim, stamp));
        context.Services.AddSingleton(factory.Services.GetRequiredService<Microsoft.AspNetCore.Authorization.IAuthorizationService>());
        context.Services.AddSingleton(factory.Services.GetRequiredService<ChatPlatform.Admin.Security.ConsoleAccess>());
        context.Services.AddScoped<ChatPlatform.Admin.Security.ConsoleGuard>();
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[^\"]+)\" value=\"(?<value>[^\"]*)\"")]
    private static partial Regex HiddenInputs();
}
