using ChatPlatform.Browser.Tests.Hosting;
using ChatPlatform.Data.Admin;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit;

namespace ChatPlatform.Browser.Tests;

/// <summary>Checks open console tabs against their accounts every second instead of every minute.</summary>
public sealed class RevalidatingConsoleServer : BrowserServer
{
    protected override void Configure(IDictionary<string, string?> settings) =>
        settings["ChatPlatform:Admin:RevalidateSeconds"] = "1";
}

/// <summary>An open console tab in headless Chromium whose account is disabled while it is open.</summary>
public sealed class ConsoleSessionTests(RevalidatingConsoleServer server) : IClassFixture<RevalidatingConsoleServer>
{
    private static readonly float Wait = 60_000;

    [Fact]
    public async Task OpenConsole_AccountDisabled_LosesAccessAndLandsOnTheLoginPage()
    {
        var ct = TestContext.Current.CancellationToken;
        var accounts = server.Services.GetRequiredService<AdminAccounts>();
        var user = "admin-" + Guid.NewGuid().ToString("N")[..6];
        var password = await accounts.CreateAsync(user, AdminRoles.Admin, "test", ct);
        await accounts.CreateAsync("other-" + Guid.NewGuid().ToString("N")[..6], AdminRoles.Admin, "test", ct);
        var page = await server.NewPageAsync();
        await page.GotoAsync("/admin/login");
        await page.Locator("#username").FillAsync(user);
        await page.Locator("#password").FillAsync(password);
        await page.Locator("button[type=submit]").ClickAsync();
        await page.WaitForURLAsync("**/admin", new PageWaitForURLOptions { Timeout = Wait });
        await page.GotoAsync("/admin/channels");
        await page.Locator("[data-testid=key-create]").WaitForAsync(new LocatorWaitForOptions { Timeout = Wait });
        // The interactive circuit is up once the button reacts; no navigation happens from here on.
        await page.Locator("[data-testid=key-create]").ClickAsync();
        await page.Locator("[data-testid=key-problem]").WaitForAsync(new LocatorWaitForOptions { Timeout = Wait });

        await accounts.DisableAsync(user, "test", ct);

        await page.WaitForURLAsync("**/admin/login**", new PageWaitForURLOptions { Timeout = Wait });
        await page.Locator("[data-testid=login-form]").WaitForAsync(new LocatorWaitForOptions { Timeout = Wait });
        await BrowserServer.ScreenshotAsync(page, "admin-disabled-session");
        await page.Context.CloseAsync();
    }
}
