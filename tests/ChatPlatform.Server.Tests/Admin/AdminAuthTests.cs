using System.Net;
using ChatPlatform.Admin;
using ChatPlatform.Data.Admin;
using ChatPlatform.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests.Admin;

public sealed class AdminAuthTests(ServerFactory factory) : IClassFixture<ServerFactory>
{
    public static TheoryData<string> ConsolePages =>
    [
        "/admin", "/admin/", "/admin/personas", "/admin/personas/gradchat", "/admin/playground",
        "/admin/conversations", "/admin/safety", "/admin/channels", "/admin/accounts", "/admin/no-such-page",
    ];

    [Theory]
    [MemberData(nameof(ConsolePages))]
    public async Task Page_Anonymous_RedirectsToLogin(string path)
    {
        using var client = AdminLogin.Client(factory);

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/admin/login", response.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/_framework/blazor.web.js")]
    [InlineData("/_content/MudBlazor/MudBlazor.min.css")]
    [InlineData("/_content/MudBlazor/MudBlazor.min.js")]
    [InlineData("/")]
    public async Task Assets_Anonymous_AreServed(string path)
    {
        using var client = AdminLogin.Client(factory);

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("/admin/api/me")]
    [InlineData("/admin/api/personas")]
    [InlineData("/admin/api/anything")]
    public async Task Api_Anonymous_Returns401WithoutData(string path)
    {
        using var client = AdminLogin.Client(factory);

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative), TestContext.Current.CancellationToken);

        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        // At most the status page's problem details: no account, persona or conversation data.
        Assert.DoesNotContain("roles", body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("gradchat", body, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Login_RightPassword_SignsInWithRoles()
    {
        var ct = TestContext.Current.CancellationToken;
        var password = await AdminLogin.CreateAccountAsync(factory, "alice", AdminRoles.Admin, ct);
        using var client = AdminLogin.Client(factory);

        using var login = await AdminLogin.PostAsync(client, "alice", password, ct);
        var me = await client.GetStringAsync(new Uri("/admin/api/me", UriKind.Relative), ct);

        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal("/admin", login.Headers.Location!.AbsolutePath);
        Assert.Contains("\"alice\"", me, StringComparison.Ordinal);
        Assert.Contains("\"Admin\"", me, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_WithoutAntiforgeryToken_IsRejected()
    {
        var ct = TestContext.Current.CancellationToken;
        var password = await AdminLogin.CreateAccountAsync(factory, "mallory", AdminRoles.Admin, ct);
        using var client = AdminLogin.Client(factory);

        using var login = await AdminLogin.PostAsync(client, "mallory", password, ct, withAntiforgery: false);
        using var me = await client.GetAsync(new Uri("/admin/api/me", UriKind.Relative), ct);

        Assert.Equal(HttpStatusCode.BadRequest, login.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
    }

    [Fact]
    public async Task Login_UnknownNameWrongPasswordAndBackoff_AnswerAlikeAndTheRightPasswordWorksAfterTheWait()
    {
        var ct = TestContext.Current.CancellationToken;
        // The wait is measured on a clock the test moves, so a slow sign-in (password hashing on a busy machine) cannot outlast it.
        var time = new ManualTime(DateTimeOffset.UtcNow);
        await using var app = factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<TimeProvider>(time)));
        var password = await AdminLogin.CreateAccountAsync(app, "bob", AdminRoles.Editor, ct);
        using var client = AdminLogin.Client(app);

        using var unknown = await AdminLogin.PostAsync(client, "no-such-user", password, ct);
        for (var i = 0; i < AdminAccounts.FailuresBeforeBackoff; i++)
        {
            using var wrong = await AdminLogin.PostAsync(client, "bob", "wrong-" + i, ct);
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            Assert.Equal(ChatPlatform.Admin.Components.Pages.Login.FailedMessage, LoginError(await wrong.Content.ReadAsStringAsync(ct)));
        }
        using var tooSoon = await AdminLogin.PostAsync(client, "bob", password, ct);
        var tooSoonError = LoginError(await tooSoon.Content.ReadAsStringAsync(ct));
        using var meWhileWaiting = await client.GetAsync(new Uri("/admin/api/me", UriKind.Relative), ct);
        time.Advance(SignInBackoff.FirstDelay + TimeSpan.FromMilliseconds(200));
        using var afterWait = await AdminLogin.PostAsync(client, "bob", password, ct);

        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal(ChatPlatform.Admin.Components.Pages.Login.FailedMessage, LoginError(await unknown.Content.ReadAsStringAsync(ct)));
        Assert.Equal(HttpStatusCode.Unauthorized, tooSoon.StatusCode);
        Assert.Equal(ChatPlatform.Admin.Components.Pages.Login.FailedMessage, tooSoonError);
        Assert.Equal(HttpStatusCode.Unauthorized, meWhileWaiting.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, afterWait.StatusCode);
    }

    private static string? LoginError(string page) =>
        System.Text.RegularExpressions.Regex.Match(page, "data-testid=\"login-error\"[^>]*>([^<]*)<") is { Success: true } m
            ? System.Net.WebUtility.HtmlDecode(m.Groups[1].Value)
            : null;

    [Theory]
    [InlineData("/admin/personas")]
    [InlineData("/admin/personas/gradchat")]
    [InlineData("/admin/playground")]
    public async Task PersonaPages_Viewer_AreDenied(string path)
    {
        var ct = TestContext.Current.CancellationToken;
        var user = "viewer-" + Guid.NewGuid().ToString("N")[..8];
        var password = await AdminLogin.CreateAccountAsync(factory, user, AdminRoles.Viewer, ct);
        using var client = AdminLogin.Client(factory);
        await AdminLogin.SignInAsync(client, user, password, ct);

        using var page = await client.GetAsync(new Uri(path, UriKind.Relative), ct);
        using var dashboard = await client.GetAsync(new Uri("/admin", UriKind.Relative), ct);

        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.StartsWith("/admin/denied", page.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
    }

    [Fact]
    public async Task Session_AccountDisabledAfterSignIn_IsSignedOut()
    {
        var ct = TestContext.Current.CancellationToken;
        var user = "gone-" + Guid.NewGuid().ToString("N")[..8];
        var password = await AdminLogin.CreateAccountAsync(factory, user, AdminRoles.Admin, ct);
        using var client = AdminLogin.Client(factory);
        await AdminLogin.SignInAsync(client, user, password, ct);
        await SetAccountAsync(user, a => a.Disabled = true, ct);

        using var me = await client.GetAsync(new Uri("/admin/api/me", UriKind.Relative), ct);
        using var page = await client.GetAsync(new Uri("/admin/personas", UriKind.Relative), ct);

        Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
        Assert.StartsWith("/admin/login", page.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Session_RoleTakenAwayAfterSignIn_AppliesAtOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var user = "demoted-" + Guid.NewGuid().ToString("N")[..8];
        var password = await AdminLogin.CreateAccountAsync(factory, user, AdminRoles.Editor, ct);
        using var client = AdminLogin.Client(factory);
        await AdminLogin.SignInAsync(client, user, password, ct);
        await SetAccountAsync(user, a =>
        {
            a.Roles.Clear();
            a.Roles.Add(new AdminRoleAssignmentRecord { Role = AdminRoles.Viewer, GrantedAt = DateTimeOffset.UtcNow });
        }, ct);

        using var page = await client.GetAsync(new Uri("/admin/personas", UriKind.Relative), ct);

        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.StartsWith("/admin/denied", page.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
    }

    private async Task SetAccountAsync(string user, Action<AdminAccountRecord> change, CancellationToken ct)
    {
        var contexts = factory.Services.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<ChatPlatform.Data.ChatDbContext>>();
        await using var db = await contexts.CreateDbContextAsync(ct);
        var account = await db.AdminAccounts.Include(a => a.Roles).SingleAsync(a => a.UserName == user, ct);
        change(account);
        await db.SaveChangesAsync(ct);
    }

    [Fact]
    public async Task Logout_EndsTheSession()
    {
        var ct = TestContext.Current.CancellationToken;
        var password = await AdminLogin.CreateAccountAsync(factory, "carol", AdminRoles.Viewer, ct);
        using var client = AdminLogin.Client(factory);
        await AdminLogin.SignInAsync(client, "carol", password, ct);
        var dashboard = await client.GetStringAsync(new Uri("/admin", UriKind.Relative), ct);
        var token = System.Text.RegularExpressions.Regex.Match(dashboard, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;

        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token });
        using var logout = await client.PostAsync(new Uri("/admin/logout", UriKind.Relative), form, ct);
        using var me = await client.GetAsync(new Uri("/admin/api/me", UriKind.Relative), ct);

        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
    }

    [Theory]
    [InlineData("/admin/personas", "/admin/personas")]
    [InlineData("https://evil.example/", "/admin")]
    [InlineData("//evil.example/admin", "/admin")]
    [InlineData("/admin/../x", "/admin")]
    [InlineData("/administrator", "/admin")]
    public void SafeReturnUrl_KeepsOnlyConsolePaths(string input, string expected) =>
        Assert.Equal(expected, AdminPaths.SafeReturnUrl(input));
}
