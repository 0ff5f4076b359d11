using ChatPlatform.Browser.Tests.Hosting;
using ChatPlatform.Core.Chat;
using ChatPlatform.Data.Admin;
using ChatPlatform.Data.Conversations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit;

namespace ChatPlatform.Browser.Tests;

/// <summary>The server on the tiny model, with training settings that finish a run in seconds.</summary>
public sealed class TrainingServer : BrowserServer
{
    protected override void Configure(IDictionary<string, string?> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings["ChatPlatform:Training:LearningRate"] = "0.005";
        settings["ChatPlatform:Training:Threads"] = "2";
    }
}

/// <summary>The persona page's "Train adapter" flow in headless Chromium: a real run on the tiny model, its draft, and the playground.</summary>
public sealed class AdapterTrainingBrowserTests(TrainingServer server) : IClassFixture<TrainingServer>
{
    private const string Persona = "mindchat";
    private static readonly LocatorWaitForOptions Wait = new() { Timeout = 120_000 };

    [Fact]
    public async Task Editor_TrainsOnASelectedTranscript_SeesEpochsAndDraft_PlaygroundComparesBoth()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = server.Services.GetRequiredService<IConversationStore>();
        var external = "train-" + Guid.NewGuid().ToString("N")[..8];
        await store.OpenAsync("web", external, Persona, "en", null, ct);
        await store.AppendAsync("web", external, new StoredMessage("user", "How can I sleep better?", DateTimeOffset.UtcNow), null, ct);
        await store.AppendAsync("web", external, new StoredMessage("assistant", "睡 at the same time every night", DateTimeOffset.UtcNow), null, ct);
        var id = (await server.Services.GetRequiredService<ConversationQueries>().SearchAsync(new ConversationFilter(Persona: Persona), ct))
            .Items.Single(c => c.ExternalId == external).Id;
        var user = "editor-" + Guid.NewGuid().ToString("N")[..6];
        var password = await server.Services.GetRequiredService<AdminAccounts>().CreateAsync(user, AdminRoles.Editor, "test", ct);

        var page = await server.NewPageAsync();
        await page.GotoAsync("/admin/login");
        await page.Locator("#username").FillAsync(user);
        await page.Locator("#password").FillAsync(password);
        await page.Locator("button[type=submit]").ClickAsync();
        await page.WaitForURLAsync("**/admin", new PageWaitForURLOptions { Timeout = 60_000 });

        await page.GotoAsync($"/admin/personas/{Persona}");
        var transcript = page.Locator($"[data-testid=train-transcript-{id}]");
        await transcript.WaitForAsync(Wait);
        await transcript.CheckAsync();
        await page.Locator("#train-epochs").FillAsync("6");
        await page.Locator("#train-epochs").BlurAsync();
        await page.Locator("[data-testid=train-adapter]").ClickAsync();

        await page.Locator("[data-testid=training-status][data-state=running]").WaitForAsync(Wait);
        await page.Locator("[data-testid=training-epoch-1]").WaitForAsync(Wait);
        var result = page.Locator("[data-testid=training-result]");
        await result.WaitForAsync(Wait);
        var message = await result.InnerTextAsync();
        Assert.Contains("Draft v", message, StringComparison.Ordinal);
        Assert.Equal("succeeded", await page.Locator("[data-testid=training-status]").GetAttributeAsync("data-state"));
        await page.Locator("[data-testid=training-epoch-6]").WaitForAsync(Wait);
        // The editor shows the draft as stored, with the trained adapter in it.
        await page.Locator("code", new PageLocatorOptions { HasTextString = $"adapters/{Persona}-trained-" }).WaitForAsync(Wait);
        Assert.Contains("editing draft", await page.Locator("[data-testid=editing-version]").InnerTextAsync(), StringComparison.Ordinal);
        await BrowserServer.ScreenshotAsync(page, "admin-adapter-trained");

        await page.Locator("[data-testid=training-playground]").ClickAsync();
        await page.WaitForURLAsync($"**/admin/playground?persona={Persona}", new PageWaitForURLOptions { Timeout = 60_000 });
        await page.Locator("#playground-message").WaitForAsync(Wait);
        await page.Locator("#playground-message").FillAsync("How can I sleep better?");
        await page.Locator("[data-testid=playground-send]").ClickAsync();
        await page.Locator("[data-testid=playground-live] [data-testid=rails]").WaitForAsync(Wait);
        await page.Locator("[data-testid=playground-draft] [data-testid=rails]").WaitForAsync(Wait);
        Assert.Contains("Draft v", await page.Locator("[data-testid=playground-draft]").InnerTextAsync(), StringComparison.Ordinal);
        await BrowserServer.ScreenshotAsync(page, "admin-adapter-playground");
        await page.Context.CloseAsync();
    }
}
