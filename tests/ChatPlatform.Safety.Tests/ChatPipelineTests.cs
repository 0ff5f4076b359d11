using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Metrics;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using ChatPlatform.Safety.Output;
using ChatPlatform.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Safety.Tests;

/// <summary>
/// The one chat pipeline the server, the terminal chat and trial turns are built from: its middlewares in order, and
/// where each orchestrator sends its safety events.
/// </summary>
public sealed class ChatPipelineTests : IDisposable
{
    private static readonly PersonaCatalog s_catalog = PersonaCatalog.Load(RepoPaths.Personas);

    private readonly TestMeterFactory _meters = new();
    private readonly InMemorySafetyEventSink _events = new();

    public void Dispose() => _meters.Dispose();

    private ServiceProvider Services(bool counters)
    {
        var services = new ServiceCollection()
            .AddSingleton(new ChatPlatformOptions())
            .AddSingleton<IPersonaCatalog>(s_catalog)
            .AddSingleton(Rules.Output)
            .AddSingleton<IInputSafety>(Rules.Input)
            .AddSingleton<ISafetyEventSink>(_events)
            .AddSingleton<IConversationStore>(new InMemoryConversationStore());
        if (counters) services.AddSingleton(new ChatPlatformMetrics(_meters));
        services.AddChatClient(new ScriptedChatClient("Hello there.")).UseChatPipeline();
        services.AddChatPipeline();
        return services.BuildServiceProvider();
    }

    [Fact]
    public void UseChatPipeline_WithCounters_CountingOutermostThenTelemetryAndOutputRails()
    {
        using var services = Services(counters: true);
        var client = services.GetRequiredService<IChatClient>();

        Assert.IsType<MetricsChatClient>(client);
        Assert.NotNull(client.GetService<OpenTelemetryChatClient>());
        Assert.NotNull(client.GetService<SafetyChatClient>());
    }

    [Fact]
    public void UseChatPipeline_NoCounters_TelemetryOutermostAndOutputRailsStill()
    {
        using var services = Services(counters: false);
        var client = services.GetRequiredService<IChatClient>();

        Assert.IsType<OpenTelemetryChatClient>(client);
        Assert.NotNull(client.GetService<SafetyChatClient>());
        Assert.Null(client.GetService<MetricsChatClient>());
    }

    [Fact]
    public async Task CrisisTurn_ChannelsOrchestratorRecordsForReviewers_TrialKeepsItsOwn()
    {
        using var services = Services(counters: true);
        var trialEvents = new InMemorySafetyEventSink();
        var trial = services.GetRequiredService<ChatPipeline>().CreateTrial(s_catalog.Find("mindchat")!, new InMemoryConversationStore(), trialEvents);

        await OrchestratorRailsTests.RunAsync(trial, new ChatTurn("mindchat", "trial-1", "I want to kill myself tonight", "en", "admin"));
        Assert.Equal("crisis", Assert.Single(trialEvents.Events).Rail);
        Assert.Empty(_events.Events);

        await OrchestratorRailsTests.RunAsync(services.GetRequiredService<ChatOrchestrator>(), new ChatTurn("mindchat", "real-1", "I want to kill myself tonight", "en", "web"));
        Assert.Equal("crisis", Assert.Single(_events.Events).Rail);
        Assert.Single(trialEvents.Events);
    }
}
