using System.Collections.Concurrent;
using ChatPlatform.Browser.Tests.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Playwright;
using Xunit;

namespace ChatPlatform.Browser.Tests;

/// <summary>Streams every reply update on the WebSocket, so even the tiny model's short replies livestream.</summary>
public sealed class WidgetServer : BrowserServer
{
    protected override void Configure(IDictionary<string, string?> settings) =>
        settings["ChatPlatform:DirectLine:StreamUpdateSeconds"] = "0";
}

/// <summary>The demo page in headless Chromium: the official Web Chat bundle talks to the personas over Direct Line.</summary>
public sealed class WebChatWidgetTests(WidgetServer server) : IClassFixture<WidgetServer>
{
    internal static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task DemoPage_MessageTyped_ShowsSentMessageStreamedReplyAndStoresTranscript()
    {
        var (page, frames) = await OpenAsync("/?persona=gradchat&locale=en");
        const string question = "How should I prepare a master's application?";
        await SendAsync(page, question);

        var bubbles = await RoundTripAsync(page, question);
        Assert.True(bubbles >= 3, $"expected the greeting, the question and a reply; saw {bubbles} activities");
        // The reply was livestreamed: cumulative typing updates, then the final message carrying the stream id. Web
        // Chat shows the last update as a bubble, so the final frame may still be on its way when the bubble is there.
        var deadline = DateTime.UtcNow + Wait;
        while (!frames.Any(f => f.Contains("\"streamType\":\"final\"", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
            await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.Contains(frames, f => f.Contains("\"streamType\":\"streaming\"", StringComparison.Ordinal));
        Assert.Contains(frames, f => f.Contains("\"streamType\":\"final\"", StringComparison.Ordinal));
        await BrowserServer.ScreenshotAsync(page, "webchat-gradchat-en");

        var stored = await StoredAsync(question);
        Assert.Equal(["user", "assistant"], stored.Select(m => m.Role));
        Assert.False(string.IsNullOrWhiteSpace(stored[1].Text));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task DemoPage_ChineseMessage_RoundTripsWithCjkText()
    {
        var (page, _) = await OpenAsync("/?persona=gradchat&locale=zh-CN");
        const string question = "我想申请研究生，应该怎么准备材料？";
        await SendAsync(page, question);
        await RoundTripAsync(page, question);
        await BrowserServer.ScreenshotAsync(page, "webchat-gradchat-zh");

        var stored = await StoredAsync(question);
        Assert.Equal(question, stored[0].Text);
        Assert.Equal("assistant", stored[1].Role);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task DemoPage_UnknownPersona_ShowsClearErrorInWidget()
    {
        var (page, _) = await OpenAsync("/?persona=nosuchpersona");
        var error = page.Locator(".chatplatform-widget-error");
        await error.WaitForAsync(new LocatorWaitForOptions { Timeout = (float)Wait.TotalMilliseconds });
        var text = await error.InnerTextAsync();
        Assert.Contains("Unknown persona 'nosuchpersona'", text, StringComparison.Ordinal);
        Assert.Contains("gradchat", text, StringComparison.Ordinal);
        await BrowserServer.ScreenshotAsync(page, "webchat-unknown-persona");
        await page.Context.CloseAsync();
    }

    private async Task<(IPage Page, ConcurrentBag<string> Frames)> OpenAsync(string url)
    {
        var page = await server.NewPageAsync();
        var frames = new ConcurrentBag<string>();
        page.WebSocket += (_, socket) => socket.FrameReceived += (_, frame) => { if (frame.Text is { } text) frames.Add(text); };
        await page.GotoAsync(url);
        return (page, frames);
    }

    internal static async Task SendAsync(IPage page, string text)
    {
        var input = page.Locator("[data-id='webchat-sendbox-input']");
        await input.WaitForAsync(new LocatorWaitForOptions { Timeout = (float)Wait.TotalMilliseconds });
        await input.FillAsync(text);
        await input.PressAsync("Enter");
        // Web Chat empties the send box once it has taken the message. An Enter that lands before its state has caught
        // up with the filled text is ignored (as a person would see, the text stays), so the send button is pressed then.
        if (!await SendBoxEmptiedAsync(input, TimeSpan.FromSeconds(5)))
        {
            await page.Locator("button.webchat__send-button").ClickAsync();
            Assert.True(await SendBoxEmptiedAsync(input, TimeSpan.FromSeconds(10)), "Web Chat did not take the message from its send box.");
        }
    }

    private static async Task<bool> SendBoxEmptiedAsync(ILocator input, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            if ((await input.InputValueAsync()).Length == 0) return true;
            await Task.Delay(100);
        }
        return false;
    }

    /// <summary>Waits until the question is shown as sent (no "Sending"/"Send failed") and a reply follows it.</summary>
    internal static async Task<int> RoundTripAsync(IPage page, string question)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var state = await page.EvaluateAsync<string[]>("""
                (question) => {
                  const items = [...document.querySelectorAll('.webchat__basic-transcript__activity')];
                  const mine = items.findIndex(a => a.innerText.includes(question));
                  if (mine < 0) return ['missing', String(items.length)];
                  const status = items[mine].innerText;
                  if (/Sending|Send failed|正在发送|发送失败/.test(status)) return ['sending', String(items.length)];
                  const after = items.slice(mine + 1).filter(a => a.querySelector('.webchat__bubble:not(.webchat__bubble--from-user)') && a.innerText.trim().length > 0);
                  return [after.length > 0 && !document.querySelector('.webchat__typing-indicator') ? 'done' : 'waiting', String(items.length)];
                }
                """, question);
            if (state[0] == "done") return int.Parse(state[1], System.Globalization.CultureInfo.InvariantCulture);
            if (DateTime.UtcNow > deadline)
            {
                await BrowserServer.ScreenshotAsync(page, "webchat-timeout");
                Assert.Fail($"No round trip within {Wait.TotalSeconds} s (state {state[0]}, {state[1]} activities).");
            }
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>The stored transcript (user question and the reply after it), read straight from the database.</summary>
    private async Task<List<(string Role, string Text)>> StoredAsync(string question)
    {
        // The reply is stored as the stream ends, just before the final activity is sent.
        await using var connection = new SqliteConnection($"Data Source={server.DatabasePath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT m.Role, m.Text FROM messages m JOIN conversations c ON c.Id = m.ConversationId
            WHERE c.Channel = 'directline' AND c.Id = (
              SELECT m2.ConversationId FROM messages m2 WHERE m2.Text = $q ORDER BY m2.Id DESC LIMIT 1)
            ORDER BY m.Sequence
            """;
        command.Parameters.AddWithValue("$q", question);
        var rows = new List<(string, string)>();
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
            rows.Add((reader.GetString(0), reader.GetString(1)));
        return rows;
    }
}
