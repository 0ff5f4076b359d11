using ChatPlatform.Browser.Tests.Hosting;
using ChatPlatform.Testing.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Playwright;
using Xunit;

namespace ChatPlatform.Browser.Tests;

/// <summary>
/// The chat server plus a second site on another port whose page embeds the widget with the one-line script tag;
/// the server allows that site's origin (<c>http://127.0.0.1:PORT</c>) and no other.
/// </summary>
public sealed class CrossSiteServer : BrowserServer
{
    public TestHttpServer Site { get; private set; } = null!;

    public override async ValueTask InitializeAsync()
    {
        Site = await TestHttpServer.StartAsync(async (http, _) =>
        {
            http.Response.ContentType = "text/html; charset=utf-8";
            await http.Response.WriteAsync($"""
                <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Graduate school</title></head>
                <body><h1>Graduate school admissions</h1><p>Questions? Ask our assistant.</p>
                <script src="{Origin}/widget.js" data-persona="gradchat" data-locale="en" data-height="460px"></script>
                </body></html>
                """);
        }, CancellationToken.None);
        await base.InitializeAsync();
    }

    protected override void Configure(IDictionary<string, string?> settings) =>
        settings["ChatPlatform:DirectLine:AllowedOrigins:0"] = Site.BaseUri.GetLeftPart(UriPartial.Authority);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Site.DisposeAsync();
    }
}

public sealed class CrossSiteWidgetTests(CrossSiteServer server) : IClassFixture<CrossSiteServer>
{
    [Fact]
    public async Task Widget_EmbeddedOnAllowedSite_ChatsAcrossOrigins()
    {
        var page = await server.NewPageAsync();
        await page.GotoAsync(server.Site.BaseUri.ToString());
        const string question = "When are the application deadlines?";
        await WebChatWidgetTests.SendAsync(page, question);
        await WebChatWidgetTests.RoundTripAsync(page, question);
        await BrowserServer.ScreenshotAsync(page, "widget-embedded-other-site");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Widget_EmbeddedOnSiteNotAllowed_ExplainsInsteadOfBlankBox()
    {
        // The same page reached as "localhost" is another origin, which the server does not allow.
        var page = await server.NewPageAsync();
        await page.GotoAsync($"http://localhost:{server.Site.BaseUri.Port}/");
        var error = page.Locator(".chatplatform-widget-error");
        await error.WaitForAsync(new LocatorWaitForOptions { Timeout = (float)WebChatWidgetTests.Wait.TotalMilliseconds });
        Assert.Contains("ChatPlatform:DirectLine:AllowedOrigins", await error.InnerTextAsync(), StringComparison.Ordinal);
        await page.Context.CloseAsync();
    }
}
