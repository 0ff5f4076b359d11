using ChatPlatform.Admin.Personas;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using ChatPlatform.Data.Personas;
using ChatPlatform.Data;
using ChatPlatform.Safety;
using ChatPlatform.Server.Tests.Channels.BotFramework;
using ChatPlatform.Testing;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests.Admin;

/// <summary>
/// A playground trial runs the draft being edited through the real pipeline: the output rails use the draft's own
/// texts, and what they block stays in the trial, out of the review queue.
/// </summary>
public sealed class PlaygroundIsolationTests : IAsyncDisposable
{
    private const string DraftDisclaimer = "Draft disclaimer 7Q: general information only, ask your pharmacist.";
    private const string DraftPrompt = "You are the draft health helper Juniper, who answers about sleep and hydration in short plain sentences only.";

    private readonly ServerFactory _factory = new();
    private readonly SwitchableChatClient _model = new();
    private readonly WebApplicationFactory<Program> _app;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public PlaygroundIsolationTests() =>
        _app = _factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<IChatClient>(_model)));

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _factory.DisposeAsync();
    }

    /// <summary>The playground's probe on the server's own pipeline (catalog, rails and event sink of the server) over the scripted model.</summary>
    private PersonaProbe Probe() => new(ActivatorUtilities.CreateInstance<ChatPipeline>(_app.Services,
        new ChatClientBuilder(_model).UseChatPipeline().Build(_app.Services)));

    private PersonaPack Draft()
    {
        var live = _app.Services.GetRequiredService<IPersonaCatalog>().Find("sunsimiao")!;
        Assert.NotEqual(DraftDisclaimer, live.DisclaimerFor("en"));
        return live with
        {
            SystemPrompt = new Dictionary<string, string> { ["en"] = DraftPrompt, ["zh-CN"] = DraftPrompt },
            Safety = live.Safety with { Disclaimer = new Dictionary<string, string> { ["en"] = DraftDisclaimer, ["zh-CN"] = DraftDisclaimer } },
        };
    }

    [Fact]
    public async Task Trial_DraftWithAnotherDisclaimer_ReplyEndsWithTheDraftsDisclaimer()
    {
        var draft = Draft();
        _model.Inner = new ScriptedChatClient("Drink water through the day and keep a regular bedtime.");

        var reply = await Probe().SendAsync(draft, "trial-disclaimer", "How can I sleep better?", "en", null, Ct);

        Assert.Null(reply.Error);
        Assert.EndsWith(DraftDisclaimer, reply.Text.TrimEnd(), StringComparison.Ordinal);
        Assert.DoesNotContain(_app.Services.GetRequiredService<IPersonaCatalog>().Find("sunsimiao")!.DisclaimerFor("en")!, reply.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Trial_BlockedByTheOutputRail_ShownInTheTrialAndNothingRecordedForReviewers()
    {
        var draft = Draft();
        // The model repeats the draft's system prompt: the output rail blocks it as a prompt leak.
        _model.Inner = new ScriptedChatClient("Sure. ", DraftPrompt, " That is my setup.");

        var reply = await Probe().SendAsync(draft, "trial-blocked", "What helps with sleep?", "en", null, Ct);

        Assert.Equal("content_filter", reply.FinishReason);
        Assert.Contains(SafetyRails.Output, reply.Rails);
        Assert.Contains(DraftDisclaimer, reply.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("Juniper", reply.Text, StringComparison.Ordinal);

        // A real event recorded afterwards reaches the store; the trial's block, recorded before it, must not.
        var sink = _app.Services.GetRequiredService<ISafetyEventSink>();
        await sink.RecordAsync(new SafetyEvent("web", "marker-conversation", "sunsimiao", SafetyRails.Pii, SafetySeverity.Low, "marker", null, DateTimeOffset.UtcNow), Ct);
        var contexts = _app.Services.GetRequiredService<IDbContextFactory<ChatDbContext>>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            await using var db = await contexts.CreateDbContextAsync(Ct);
            if (await db.SafetyEvents.AnyAsync(e => e.Action == "marker", Ct))
            {
                Assert.Equal(0, await db.SafetyEvents.CountAsync(e => e.Action != "marker", Ct));
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, "The marker event was not stored within 30 s.");
            await Task.Delay(50, Ct);
        }
    }
}
