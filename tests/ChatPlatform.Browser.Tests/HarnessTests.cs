using ChatPlatform.Browser.Tests.Hosting;
using Xunit;

namespace ChatPlatform.Browser.Tests;

/// <summary>The harness itself: the real server answers on loopback and Chromium renders its page.</summary>
public sealed class HarnessTests(BrowserServer server) : IClassFixture<BrowserServer>
{
    [Fact]
    public async Task NewPageAsync_LoadsServerPage_RendersItAndSavesScreenshot()
    {
        var page = await server.NewPageAsync();
        var response = await page.GotoAsync("/healthz");
        Assert.NotNull(response);
        Assert.Equal(200, response.Status);
        Assert.Contains("ok", await page.ContentAsync(), StringComparison.Ordinal);
        Assert.Equal("127.0.0.1", server.BaseUrl.Host);

        var path = await BrowserServer.ScreenshotAsync(page, "harness-healthz");
        Assert.True(new FileInfo(path).Length > 0);
        await page.Context.CloseAsync();
    }
}
