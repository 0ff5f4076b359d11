using ChatPlatform.Browser.Tests.Hosting;
using ChatPlatform.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit;

namespace ChatPlatform.Browser.Tests;

/// <summary>The plain <c>/api/chat</c> page in headless Chromium: it keeps the conversation token and continues its conversation.</summary>
public sealed class SsePageTests(BrowserServer server) : IClassFixture<BrowserServer>
{
    private static readonly LocatorWaitForOptions Wait = new() { Timeout = 120_000 };

    [Fact]
    public async Task SsePage_TwoMessages_SecondSendsTheTokenAndContinuesTheSameConversation()
    {
        var ct = TestContext.Current.CancellationToken;
        var page = await server.NewPageAsync();
        await page.GotoAsync("/sse.html");
        await page.Locator("#persona option[value=gradchat]").WaitForAsync(new() { State = WaitForSelectorState.Attached, Timeout = 60_000 });
        await page.Locator("#persona").SelectOptionAsync("gradchat");
        await page.Locator("#locale").SelectOptionAsync("en");

        var headers = new List<Dictionary<string, string>>();
        foreach (var text in new[] { "sse page first question", "sse page second question" })
        {
            await page.Locator("#text").FillAsync(text);
            var response = await page.RunAndWaitForResponseAsync(() => page.Locator("#send").ClickAsync(), r => r.Url.EndsWith("/api/chat", StringComparison.Ordinal));
            Assert.Equal(200, response.Status);
            headers.Add(await response.Request.AllHeadersAsync());
            // The button comes back once the reply's stream (and its done event) has been read.
            await page.Locator("#send:enabled").WaitForAsync(Wait);
        }
        await BrowserServer.ScreenshotAsync(page, "sse-page-two-turns");

        Assert.False(headers[0].ContainsKey("authorization"));
        Assert.StartsWith("Bearer ", headers[1]["authorization"], StringComparison.Ordinal);
        await using var db = await server.Services.GetRequiredService<IDbContextFactory<ChatDbContext>>().CreateDbContextAsync(ct);
        var conversations = await db.Messages.AsNoTracking()
            .Where(m => m.Text == "sse page first question" || m.Text == "sse page second question")
            .Select(m => m.ConversationId).Distinct().ToListAsync(ct);
        Assert.Single(conversations);
        Assert.Equal(4, await db.Messages.CountAsync(m => m.ConversationId == conversations[0], ct));
        await page.Context.CloseAsync();
    }
}
