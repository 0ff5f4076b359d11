using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Metrics;
using ChatPlatform.Safety.Output;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChatPlatform.Safety;

/// <summary>
/// Assembles the chat pipeline the same way wherever turns are served: the server, <c>chatplatform chat</c> and
/// <c>chatplatform packs eval</c>, and (through <see cref="ChatPipeline"/>) the console's playground and evals.
/// </summary>
public static class ChatPipelineExtensions
{
    /// <summary>
    /// Adds the middlewares every reply passes, outermost first. Counting (when <see cref="ChatPlatformMetrics"/> is
    /// registered) and GenAI telemetry come first, so times and tokens are what users see, after the output rails.
    /// Message content stays out of spans whatever OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT says; no logger,
    /// as a busy core (an expected answer) would be logged as an error.
    /// </summary>
    public static ChatClientBuilder UseChatPipeline(this ChatClientBuilder builder) => builder
        .Use((inner, services) => services.GetService<ChatPlatformMetrics>() is { } metrics ? new MetricsChatClient(inner, metrics) : inner)
        .UseOpenTelemetry(NullLoggerFactory.Instance, ChatPlatformMetrics.GenAiSourceName, c => c.EnableSensitiveData = false)
        .UseSafety();

    /// <summary>
    /// Registers <see cref="ChatPipeline"/> over the registered <see cref="IChatClient"/> (built with
    /// <see cref="UseChatPipeline"/>) and whichever of the input rails, knowledge retriever, safety event sink, drain
    /// and counters are registered, and the channels' <see cref="ChatOrchestrator"/> over the registered conversation store.
    /// </summary>
    public static IServiceCollection AddChatPipeline(this IServiceCollection services)
    {
        services.AddSingleton<ChatPipeline>();
        services.AddSingleton(sp => sp.GetRequiredService<ChatPipeline>().CreateOrchestrator(sp.GetRequiredService<IConversationStore>()));
        return services;
    }
}
