using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Metrics;
using ChatPlatform.Core.Personas;
using ChatPlatform.Safety.Output;
using ChatPlatform.Testing;
using Microsoft.Extensions.AI;
using Xunit;

namespace ChatPlatform.Safety.Tests;

/// <summary>The rails' and the replies' counters as the orchestrator and the output rails record them.</summary>
public sealed class RailMetricsTests : IDisposable
{
    private static readonly IPersonaCatalog s_catalog = PersonaCatalog.Load(RepoPaths.Personas);

    private readonly TestMeterFactory _meters = new();
    private readonly RecordedMeasurements _recorded;
    private readonly ChatPlatformMetrics _metrics;

    public RailMetricsTests()
    {
        _recorded = new RecordedMeasurements(_meters);
        _metrics = new ChatPlatformMetrics(_meters);
    }

    public void Dispose()
    {
        _recorded.Dispose();
        _meters.Dispose();
    }

    private ChatOrchestrator Orchestrator(IChatClient model) =>
        new(s_catalog, model, new InMemoryConversationStore(), new ChatPlatformOptions(), Rules.Input, metrics: _metrics);

    private static (string?, string?) Rail(IReadOnlyDictionary<string, object?> tags) =>
        (tags[ChatPlatformMetrics.RailTag] as string, tags[ChatPlatformMetrics.ActionTag] as string);

    [Fact]
    public async Task CrisisMessage_OneCrisisHitAndOneSafetyReplyWithNoTextOrIds()
    {
        await OrchestratorRailsTests.RunAsync(Orchestrator(new ScriptedChatClient("unused")), new ChatTurn("mindchat", "conv-secret", "I want to kill myself tonight", "en", "web", "user-secret"));

        var hit = Assert.Single(_recorded.Of(ChatPlatformMetrics.RailHitsName));
        Assert.Equal(("crisis", "crisis"), Rail(hit.Tags));
        var reply = Assert.Single(_recorded.Of(ChatPlatformMetrics.RepliesName));
        Assert.Equal(["mindchat", "web", "safety"], [reply.Tags[ChatPlatformMetrics.PersonaTag], reply.Tags[ChatPlatformMetrics.ChannelTag], reply.Tags[ChatPlatformMetrics.FinishReasonTag]]);
        Assert.DoesNotContain(reply.Tags.Values.Concat(hit.Tags.Values), v => v is string s && s.Contains("secret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MessageWithPii_ARedactHitAndAStopReplyOnTheBotChannelAsTeams()
    {
        await OrchestratorRailsTests.RunAsync(Orchestrator(new ScriptedChatClient("OK.")),
            new ChatTurn("gradchat", "c2", "My email is jane.doe@example.com, can you help with my SOP?", "en", "bf-msteams"));

        Assert.Equal(("pii", "redact"), Rail(Assert.Single(_recorded.Of(ChatPlatformMetrics.RailHitsName)).Tags));
        var reply = Assert.Single(_recorded.Of(ChatPlatformMetrics.RepliesName));
        Assert.Equal(["teams", "stop"], [reply.Tags[ChatPlatformMetrics.ChannelTag], reply.Tags[ChatPlatformMetrics.FinishReasonTag]]);
    }

    [Fact]
    public async Task BlockedSentence_AnOutputBlockHit()
    {
        using var client = new SafetyChatClient(new ScriptedChatClient("The lethal dose is about 100 pills. "), Rules.Output,
            new PersonaCatalog([Rules.Pack("mindchat")]), metrics: _metrics);
        var options = PersonaChatOptions.Create(Rules.Pack("mindchat"));

        await foreach (var _ in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")], options, TestContext.Current.CancellationToken)) { }

        Assert.Equal(("output", "block"), Rail(Assert.Single(_recorded.Of(ChatPlatformMetrics.RailHitsName)).Tags));
    }
}
