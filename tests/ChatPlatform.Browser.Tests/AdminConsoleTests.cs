using ChatPlatform.Browser.Tests.Hosting;
using ChatPlatform.Data.Admin;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit;

namespace ChatPlatform.Browser.Tests;

/// <summary>The admin console in headless Chromium against the real server with the reference packs.</summary>
public sealed class AdminConsoleTests(BrowserServer server) : IClassFixture<BrowserServer>
{
    private static readonly float Wait = 60_000;

    private async Task<string> CreateAccountAsync(string role)
    {
        var user = role.ToLowerInvariant() + "-" + Guid.NewGuid().ToString("N")[..6];
        var password = await server.Services.GetRequiredService<AdminAccounts>().CreateAsync(user, role, "test", TestContext.Current.CancellationToken);
        return user + "\n" + password;
    }

    private static async Task SignInAsync(IPage page, string account)
    {
        var parts = account.Split('\n');
        await page.Locator("#username").FillAsync(parts[0]);
        await page.Locator("#password").FillAsync(parts[1]);
        await page.Locator("button[type=submit]").ClickAsync();
    }

    private static Task VisibleAsync(IPage page, string selector) =>
        page.Locator(selector).First.WaitForAsync(new LocatorWaitForOptions { Timeout = Wait });

    [Fact]
    public async Task Editor_ChangeGreetingValidateActivate_WidgetGreetsWithNewText()
    {
        var account = await CreateAccountAsync(AdminRoles.Admin);
        var page = await server.NewPageAsync();
        var greeting = "Hello! I am the edited GradChat greeting " + Guid.NewGuid().ToString("N")[..6] + ".";

        await page.GotoAsync("/admin");
        Assert.Contains("/admin/login", page.Url, StringComparison.Ordinal);
        await SignInAsync(page, account);
        await page.WaitForURLAsync("**/admin", new PageWaitForURLOptions { Timeout = Wait });
        await VisibleAsync(page, "[data-testid=fig-open-high]");
        await BrowserServer.ScreenshotAsync(page, "admin-dashboard");

        await page.GotoAsync("/admin/personas");
        await VisibleAsync(page, "[data-testid=persona-gradchat]");
        await BrowserServer.ScreenshotAsync(page, "admin-personas");
        await page.Locator("[data-testid=persona-gradchat]").ClickAsync();
        await VisibleAsync(page, "#greeting-en");
        await page.Locator("#greeting-en").FillAsync(greeting);
        await page.Locator("[data-testid=validate]").ClickAsync();
        await VisibleAsync(page, "[data-testid=validation-ok]");
        Assert.Contains("tokens", await page.Locator("[data-testid=greeting-en-tokens]").InnerTextAsync(), StringComparison.Ordinal);
        await BrowserServer.ScreenshotAsync(page, "admin-persona-editor");

        await page.Locator("[data-testid=activate]").ClickAsync();
        await page.Locator("[data-testid=editor-message]", new PageLocatorOptions { HasTextString = "is live" })
            .WaitForAsync(new LocatorWaitForOptions { Timeout = Wait });

        var widget = await server.NewPageAsync();
        await widget.GotoAsync("/?persona=gradchat&locale=en");
        await widget.Locator(".webchat__basic-transcript__activity", new PageLocatorOptions { HasTextString = greeting })
            .First.WaitForAsync(new LocatorWaitForOptions { Timeout = Wait });
        await BrowserServer.ScreenshotAsync(widget, "admin-widget-new-greeting");
        await widget.Context.CloseAsync();

        // A new draft, so the playground has both sides to compare.
        await page.Locator("#greeting-en").FillAsync(greeting + " (next draft)");
        await page.Locator("[data-testid=save-draft]").ClickAsync();
        await page.Locator("[data-testid=editor-message]", new PageLocatorOptions { HasTextString = "Saved as draft" })
            .WaitForAsync(new LocatorWaitForOptions { Timeout = Wait });

        await page.GotoAsync("/admin/playground?persona=gradchat");
        await VisibleAsync(page, "#playground-message");
        await page.Locator("#playground-message").FillAsync("How do I plan a study abroad application?");
        await page.Locator("[data-testid=playground-send]").ClickAsync();
        await page.Locator("[data-testid=playground-live] [data-testid=rails]").WaitForAsync(new LocatorWaitForOptions { Timeout = Wait });
        await page.Locator("[data-testid=playground-draft] [data-testid=rails]").WaitForAsync(new LocatorWaitForOptions { Timeout = Wait });
        Assert.Contains("Retrieved passages", await page.Locator("[data-testid=playground-live] [data-testid=passages]").InnerTextAsync(), StringComparison.Ordinal);
        await BrowserServer.ScreenshotAsync(page, "admin-playground");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Viewer_OpensPersonaEditor_IsDenied()
    {
        var account = await CreateAccountAsync(AdminRoles.Viewer);
        var page = await server.NewPageAsync();
        await page.GotoAsync("/admin/login");
        await SignInAsync(page, account);
        await page.WaitForURLAsync("**/admin", new PageWaitForURLOptions { Timeout = Wait });

        await page.GotoAsync("/admin/personas/gradchat");

        await VisibleAsync(page, "[data-testid=access-denied]");
        Assert.Contains("/admin/denied", page.Url, StringComparison.Ordinal);
        await BrowserServer.ScreenshotAsync(page, "admin-viewer-denied");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Anonymous_OpensAdmin_IsSentToLogin()
    {
        var page = await server.NewPageAsync();

        var response = await page.GotoAsync("/admin/personas/gradchat");

        Assert.NotNull(response);
        Assert.Contains("/admin/login", page.Url, StringComparison.Ordinal);
        await VisibleAsync(page, "[data-testid=login-form]");
        Assert.DoesNotContain("System prompt", await page.ContentAsync(), StringComparison.Ordinal);
        await BrowserServer.ScreenshotAsync(page, "admin-login");
        await page.Context.CloseAsync();
    }
}
