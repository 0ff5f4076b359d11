using ChatPlatform.Browser.Tests.Hosting;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Safety;
using ChatPlatform.Data;
using ChatPlatform.Data.Admin;
using ChatPlatform.Data.Safety;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit;

namespace ChatPlatform.Browser.Tests;

/// <summary>The operations pages in headless Chromium: the dashboard's figures and the safety queue, with screenshots.</summary>
public sealed class OperationsBrowserTests(BrowserServer server) : IClassFixture<BrowserServer>
{
    private static readonly LocatorWaitForOptions Wait = new() { Timeout = 60_000 };

    [Fact]
    public async Task Reviewer_DashboardThenSafetyQueue_SeesTheOpenEventAndMarksItReviewed()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = server.Services.GetRequiredService<IConversationStore>();
        await store.OpenAsync("web", "browser-crisis", "mindchat", "en", "browser-user", ct);
        await store.AppendAsync("web", "browser-crisis", new StoredMessage("user", "[redacted] test message", DateTimeOffset.UtcNow.AddSeconds(1)), null, ct);
        await SafetyEventWriter.StoreAsync(server.Services.GetRequiredService<IDbContextFactory<ChatDbContext>>(),
            [new SafetyEvent("web", "browser-crisis", "mindchat", "crisis", SafetySeverity.High, "referral", "[redacted] test message", DateTimeOffset.UtcNow)], ct);
        var user = "reviewer-" + Guid.NewGuid().ToString("N")[..6];
        var password = await server.Services.GetRequiredService<AdminAccounts>().CreateAsync(user, AdminRoles.Reviewer, "test", ct);
        var page = await server.NewPageAsync();

        await page.GotoAsync("/admin");
        await page.Locator("#username").FillAsync(user);
        await page.Locator("#password").FillAsync(password);
        await page.Locator("button[type=submit]").ClickAsync();
        await page.Locator("[data-testid=fig-open-high-value]").WaitForAsync(Wait);
        var openHigh = await page.Locator("[data-testid=fig-open-high-value]").InnerTextAsync();
        await BrowserServer.ScreenshotAsync(page, "admin-dashboard-figures");

        await page.GotoAsync("/admin/safety");
        await page.Locator("[data-testid=mark-reviewed]").First.WaitForAsync(Wait);
        await BrowserServer.ScreenshotAsync(page, "admin-safety-queue");
        await page.Locator("[data-testid=open-transcript]").First.ClickAsync();
        await page.Locator("[data-testid=transcript]", new PageLocatorOptions { HasTextString = "[redacted] test message" }).WaitForAsync(Wait);
        await BrowserServer.ScreenshotAsync(page, "admin-transcript");
        await page.GotoAsync("/admin/safety");
        await page.Locator("[data-testid=mark-reviewed]").First.WaitForAsync(Wait);
        await page.Locator("input[data-testid=note], [data-testid=note] input").First.FillAsync("called back");
        await page.Locator("[data-testid=mark-reviewed]").First.ClickAsync();
        await page.GetByText("Event marked reviewed.").WaitForAsync(Wait);

        Assert.True(int.Parse(openHigh.Trim(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        await using var db = await server.Services.GetRequiredService<IDbContextFactory<ChatDbContext>>().CreateDbContextAsync(ct);
        var reviewed = await db.SafetyEvents.AsNoTracking().SingleAsync(s => s.ExternalConversationId == "browser-crisis", ct);
        Assert.Equal((SafetyReviewState.Reviewed, user, "called back"), (reviewed.ReviewState, reviewed.Reviewer, reviewed.ReviewNote));
        await page.Context.CloseAsync();
    }
}
