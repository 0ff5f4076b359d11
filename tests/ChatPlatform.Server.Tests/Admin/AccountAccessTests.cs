using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using Bunit;
using ChatPlatform.Admin.Components.Pages.Operations;
using ChatPlatform.Admin.Security;
using ChatPlatform.Core.ApiKeys;
using ChatPlatform.Core.Personas;
using ChatPlatform.Data.Admin;
using ChatPlatform.Data.Channels;
using ChatPlatform.Knowledge;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace ChatPlatform.Server.Tests.Admin;

/// <summary>
/// Sessions of accounts that were disabled or demoted after sign-in, against the real host: the revalidation check
/// fails, open circuits turn anonymous, and changes are refused at call time, whatever the session cached.
/// </summary>
public sealed class AccountAccessTests : MudComponentTests, IClassFixture<ServerFactory>
{
    private readonly ServerFactory _factory;

    public AccountAccessTests(ServerFactory factory)
    {
        _factory = factory;
        using var started = factory.CreateClient();
    }

    private static CancellationToken Ct => Xunit.TestContext.Current.CancellationToken;

    private AdminAccounts Accounts => _factory.Services.GetRequiredService<AdminAccounts>();

    private ConsoleAccess Access => _factory.Services.GetRequiredService<ConsoleAccess>();

    private static string NewUser(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>The principal a sign-in with the account's password gives, as the login page builds it.</summary>
    private async Task<(string User, ClaimsPrincipal Principal)> SignedInAsync(string role)
    {
        var user = NewUser(role.ToLowerInvariant());
        var password = await Accounts.CreateAsync(user, role, "test", Ct);
        var signIn = await Accounts.SignInAsync(user, password, Ct);
        return (user, AdminPrincipal.Create(signIn.Account!));
    }

    [Fact]
    public async Task Revalidation_DisabledOrDemotedAccount_FailsAndThePolicyCheckRefuses()
    {
        await Accounts.CreateAsync(NewUser("other-admin"), AdminRoles.Admin, "test", Ct);
        var (editor, editorPrincipal) = await SignedInAsync(AdminRoles.Editor);
        var (admin, adminPrincipal) = await SignedInAsync(AdminRoles.Admin);
        var validBefore = await Access.IsCurrentAsync(editorPrincipal, Ct) && await Access.IsCurrentAsync(adminPrincipal, Ct);
        var allowedBefore = await Access.AllowsAsync(editorPrincipal, AdminPolicies.Personas, Ct)
            && await Access.AllowsAsync(adminPrincipal, AdminPolicies.ChannelsAndKeys, Ct);

        await Accounts.SetRoleAsync(editor, AdminRoles.Viewer, "test", Ct);
        await Accounts.DisableAsync(admin, "test", Ct);

        Assert.True(validBefore);
        Assert.True(allowedBefore);
        Assert.False(await Access.IsCurrentAsync(editorPrincipal, Ct));
        Assert.False(await Access.AllowsAsync(editorPrincipal, AdminPolicies.Personas, Ct));
        Assert.False(await Access.IsCurrentAsync(adminPrincipal, Ct));
        Assert.False(await Access.AllowsAsync(adminPrincipal, AdminPolicies.ChannelsAndKeys, Ct));
        // A principal without the stamp (a cookie from before stamps, or forged roles) is not current either.
        var stampless = new ClaimsPrincipal(new ClaimsIdentity(editorPrincipal.Claims.Where(c => c.Type != AdminPrincipal.StampClaim), "test"));
        Assert.False(await Access.IsCurrentAsync(stampless, Ct));
    }

    [Fact]
    public async Task OpenCircuit_AccountDisabled_TurnsAnonymousAtTheNextRevalidation()
    {
        var (user, principal) = await SignedInAsync(AdminRoles.Editor);
        var options = new ConsoleSessionOptions { RevalidateEvery = TimeSpan.FromMilliseconds(100) };
        using var provider = new ConsoleAuthenticationStateProvider(NullLoggerFactory.Instance, Access, options);
        var changed = new TaskCompletionSource<AuthenticationState>(TaskCreationOptions.RunContinuationsAsynchronously);
        provider.SetAuthenticationState(Task.FromResult(new AuthenticationState(principal)));
        await Task.Delay(300, Ct);
        var stillSignedIn = (await provider.GetAuthenticationStateAsync()).User.Identity?.IsAuthenticated;
        provider.AuthenticationStateChanged += async state => changed.TrySetResult(await state);

        await Accounts.DisableAsync(user, "test", Ct);
        var after = await changed.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.True(stillSignedIn);
        Assert.False(after.User.Identity?.IsAuthenticated);
        Assert.False((await provider.GetAuthenticationStateAsync()).User.Identity?.IsAuthenticated);
    }

    [Fact]
    public async Task ApiChange_AccountDemotedWhileItsCookieIsFresh_IsRefusedAndStoresNothing()
    {
        var user = NewUser("editor");
        var password = await Accounts.CreateAsync(user, AdminRoles.Editor, "test", Ct);
        using var client = AdminLogin.Client(_factory);
        await AdminLogin.SignInAsync(client, user, password, Ct);
        // The first request validates the cookie; the next ones within the interval do not read the account again.
        using var me = await client.GetAsync(new Uri("/admin/api/me", UriKind.Relative), Ct);
        await Accounts.SetRoleAsync(user, AdminRoles.Viewer, "test", Ct);
        var question = $"Does a demoted {user} still add curated answers?";

        using var response = await client.PostAsJsonAsync(new Uri("/admin/api/personas/gradchat/knowledge/curated", UriKind.Relative), new { question, answer = "No." }, Ct);

        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains(ConsoleGuard.Refused, await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.DoesNotContain(await _factory.Services.GetRequiredService<KnowledgeBase>().ListCuratedAsync("gradchat", Ct), a => a.Question == question);
    }

    [Fact]
    public async Task ChannelsPage_AdminDisabledWhileThePageIsOpen_CannotCreateAKey()
    {
        var admin = NewUser("keys-admin");
        await Accounts.CreateAsync(NewUser("other-admin"), AdminRoles.Admin, "test", Ct);
        AdminLogin.SignInComponents(Context, _factory, admin, AdminRoles.Admin);
        Context.Services.AddSingleton(_factory.Services.GetRequiredService<ApiKeys>());
        Context.Services.AddSingleton(_factory.Services.GetRequiredService<ChannelBindings>());
        Context.Services.AddSingleton(_factory.Services.GetRequiredService<IPersonaCatalog>());
        Context.Services.AddSingleton(_factory.Services.GetRequiredService<IConfiguration>());
        var page = Context.Render<ChannelsAndKeys>();
        var before = NewUser("before");
        var after = NewUser("after");

        page.Find("input[data-testid=key-name]").Change(before);
        await page.InvokeAsync(() => page.Find("button[data-testid=key-create]").Click());
        page.WaitForElement("[data-testid=key-created]");
        await Accounts.DisableAsync(admin, "test", Ct);
        page.Find("input[data-testid=key-name]").Change(after);
        await page.InvokeAsync(() => page.Find("button[data-testid=key-create]").Click());

        var names = (await _factory.Services.GetRequiredService<ApiKeys>().ListAsync(Ct)).Select(k => k.Name).ToList();
        Assert.Contains(before, names);
        Assert.DoesNotContain(after, names);
        Assert.Contains(Context.Services.GetRequiredService<MudBlazor.ISnackbar>().ShownSnackbars, s => s.Message == ConsoleGuard.Refused);
    }

    [Fact]
    public async Task TrainAdapter_EditorDisabledWhileThePageIsOpen_StartsNoRun()
    {
        var editor = NewUser("train-editor");
        AdminLogin.SignInComponents(Context, _factory, editor, AdminRoles.Editor);
        var runs = _factory.Services.GetRequiredService<ChatPlatform.Admin.Personas.AdapterTrainingRuns>();
        Context.Services.AddSingleton(runs);
        Context.Services.AddSingleton(_factory.Services.GetRequiredService<ChatPlatform.Data.Conversations.ConversationQueries>());
        var panel = Context.Render<ChatPlatform.Admin.Components.Personas.AdapterTrainingPanel>(p => p.Add(c => c.PersonaId, "sunsimiao"));
        panel.WaitForElement("button[data-testid=train-adapter]");

        await Accounts.DisableAsync(editor, "test", Ct);
        await panel.InvokeAsync(() => panel.Find("button[data-testid=train-adapter]").Click());

        Assert.Null(runs.Latest);
        Assert.Contains(Context.Services.GetRequiredService<MudBlazor.ISnackbar>().ShownSnackbars, s => s.Message == ConsoleGuard.Refused);
    }

    [Fact]
    public async Task AccountsPage_DisableAndResetPassword_ChangeTheAccountAfterConfirmation()
    {
        var admin = NewUser("accounts-admin");
        var target = NewUser("target");
        var oldPassword = await Accounts.CreateAsync(target, AdminRoles.Editor, "test", Ct);
        AdminLogin.SignInComponents(Context, _factory, admin, AdminRoles.Admin);
        Context.Services.AddSingleton(Accounts);
        var dialogs = Context.Render<MudBlazor.MudDialogProvider>();
        var page = Context.Render<Accounts>();

        await ClickInRowAsync(page, target, "account-disable");
        await ConfirmAsync(dialogs);
        page.WaitForAssertion(() => Assert.Equal("disabled", Row(page, target).QuerySelector("[data-testid=account-state]")!.TextContent.Trim()), TimeSpan.FromSeconds(10));
        var whileDisabled = await Accounts.SessionStateAsync(target, Ct);
        await ClickInRowAsync(page, target, "account-enable");
        page.WaitForAssertion(() => Assert.Equal("enabled", Row(page, target).QuerySelector("[data-testid=account-state]")!.TextContent.Trim()), TimeSpan.FromSeconds(10));
        await ClickInRowAsync(page, target, "account-reset");
        await ConfirmAsync(dialogs);
        page.WaitForElement("[data-testid=account-password-value]", TimeSpan.FromSeconds(10));
        var newPassword = page.Find("[data-testid=account-password-value]").TextContent.Trim();

        Assert.Null(whileDisabled);
        Assert.Equal(AdminSignInStatus.Failed, (await Accounts.SignInAsync(target, oldPassword, Ct)).Status);
        Assert.Equal(AdminSignInStatus.Succeeded, (await Accounts.SignInAsync(target, newPassword, Ct)).Status);
    }

    private static AngleSharp.Dom.IElement Row(IRenderedComponent<Accounts> page, string user) =>
        page.FindAll("tr").Single(r => r.QuerySelector("[data-testid=account-user]")?.TextContent.Trim() == user);

    private static Task ClickInRowAsync(IRenderedComponent<Accounts> page, string user, string button) =>
        page.InvokeAsync(() => Row(page, user).QuerySelector($"button[data-testid={button}]")!.Click());

    private static async Task ConfirmAsync(IRenderedComponent<MudBlazor.MudDialogProvider> dialogs)
    {
        dialogs.WaitForAssertion(() => Assert.Contains(dialogs.FindAll("button"), b => b.TextContent.Trim() == "Yes"), TimeSpan.FromSeconds(10));
        await dialogs.InvokeAsync(() => dialogs.FindAll("button").First(b => b.TextContent.Trim() == "Yes").Click());
    }
}
