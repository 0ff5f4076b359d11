using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Inference.Local;
using ChatPlatform.Inference.Remote;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Inference;

public static class InferenceHostingExtensions
{
    /// <summary>
    /// Registers the <see cref="IChatClient"/> every channel uses: the shared local inference core (the model loaded
    /// once and the batching engine) or, with <c>ChatPlatform:Model:Backend = remote</c>, an OpenAI-compatible server.
    /// The <c>ChatPlatform:Model</c>, <c>Remote</c> and <c>Models</c> sections are registered and checked at start-up
    /// (<see cref="InferenceSections.AddInferenceOptions"/>).
    /// </summary>
    /// <param name="pipeline">Adds middlewares (such as the output rails), outermost first.</param>
    public static IHostApplicationBuilder AddInference(this IHostApplicationBuilder builder, Action<ChatClientBuilder>? pipeline = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddInferenceOptions(builder.Configuration);
        services.AddEmbeddings(SectionOptions.Bind<KnowledgeOptions>(builder.Configuration, KnowledgeOptions.SectionName).EmbeddingModelPath);
        if (InferenceSections.Model.Bind(builder.Configuration).IsRemote)
            return builder.AddRemoteInference(SectionOptions.Bind<RemoteOptions>(builder.Configuration, RemoteOptions.SectionName), pipeline);

        services.AddSingleton(sp =>
        {
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("ChatPlatform.Inference");
            LlamaNative.NativeLog += (level, message) => logger.LogWarning("llama.cpp {Level}: {Message}", level, message);
            var model = sp.GetRequiredService<ModelOptions>();
            var path = ModelLocator.Resolve(model, sp.GetRequiredService<ChatPlatformOptions>().DataDirectory, logger);
            return LocalModel.Load(path, model.EffectiveThreads);
        });
        services.AddSingleton<ILoadedModel>(sp => new LoadedLocalModel(sp.GetRequiredService<LocalModel>()));
        services.AddSingleton(sp => new InferenceEngine(
            sp.GetRequiredService<LocalModel>(), sp.GetRequiredService<ModelOptions>(), sp.GetRequiredService<ILogger<InferenceEngine>>(),
            sp.GetService<ChatPlatform.Core.Metrics.ChatPlatformMetrics>()));
        // An erased conversation's saved prompt state leaves the cache too.
        services.AddSingleton<ChatPlatform.Core.Privacy.IConversationForgetter>(sp => new EngineForgetter(sp.GetRequiredService<InferenceEngine>()));
        var chat = services.AddChatClient(sp => new LocalChatClient(
            sp.GetRequiredService<LocalModel>(), sp.GetRequiredService<InferenceEngine>(), sp.GetRequiredService<ModelOptions>(),
            sp.GetRequiredService<ILogger<LocalChatClient>>()));
        // No logging middleware: it records a busy core (an expected answer) as an error with a stack trace; the
        // engine, the orchestrator and the channels log what operators need, without message text.
        pipeline?.Invoke(chat);
        return builder;
    }

    /// <summary>
    /// Registers the knowledge search's <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> when
    /// <c>ChatPlatform:Knowledge:EmbeddingModelPath</c> is set. When that is the local chat model's own file, the
    /// generator runs on the already loaded <see cref="LocalModel"/> rather than loading the weights a second time.
    /// </summary>
    private static void AddEmbeddings(this IServiceCollection services, string? path)
    {
        if (string.IsNullOrWhiteSpace(path)) return;
        services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(sp =>
        {
            var model = sp.GetRequiredService<ModelOptions>();
            var sharesChatModel = !model.IsRemote
                && LlamaEmbeddingGenerator.IsSameFile(path, ModelLocator.PathOf(model, sp.GetRequiredService<ChatPlatformOptions>().DataDirectory));
            return sharesChatModel
                ? new LlamaEmbeddingGenerator(sp.GetRequiredService<LocalModel>(), model.Threads)
                : new LlamaEmbeddingGenerator(path, model.Threads);
        });
    }

    /// <summary>
    /// Registers the safety judge's <see cref="IChatClient"/> under <paramref name="serviceKey"/>: a guard GGUF loaded
    /// beside the chat model with its own small decode loop, or a guard model on an OpenAI-compatible server.
    /// </summary>
    public static IHostApplicationBuilder AddSafetyJudgeClient(this IHostApplicationBuilder builder, SafetyJudgeOptions judge, string serviceKey)
    {
        if (judge.IsRemote)
        {
            const string httpName = "chatplatform.safety-judge";
            builder.Services.AddRemoteHttpClient(httpName, judge.Remote);
            builder.Services.AddKeyedSingleton<IChatClient>(serviceKey, (sp, _) => new RemoteChatClient(
                sp.GetRequiredService<IHttpClientFactory>().CreateClient(httpName), judge.Remote,
                sp.GetRequiredService<ILogger<RemoteChatClient>>()));
            return builder;
        }

        var engineOptions = new ModelOptions
        {
            Path = judge.ModelPath,
            Threads = judge.Threads,
            ContextSize = judge.ContextSize,
            MaxConcurrentConversations = 4,
            MaxQueuedRequests = 64,
            RequestTimeoutSeconds = Math.Max(1, (judge.TimeoutMilliseconds + 999) / 1000),
            PromptCacheTokens = 0,
        };
        builder.Services.AddKeyedSingleton<IChatClient>(serviceKey, (sp, _) =>
            new DedicatedLocalClient(judge.ModelPath!, engineOptions, sp.GetRequiredService<ILoggerFactory>()));
        return builder;
    }

    /// <summary>Registers <see cref="RemoteChatClient"/> over a pooled <see cref="HttpClient"/> from <see cref="IHttpClientFactory"/> with the resilience pipeline of <see cref="RemoteHttp"/>.</summary>
    /// <param name="pipeline">Adds middlewares (such as the output rails), outermost first: a remote model's replies are checked like local ones.</param>
    public static IHostApplicationBuilder AddRemoteInference(this IHostApplicationBuilder builder, RemoteOptions remote, Action<ChatClientBuilder>? pipeline = null)
    {
        // No model runs here: token counts are estimates and adapters are not checked against a model.
        builder.Services.AddSingleton<ILoadedModel>(NoLoadedModel.Instance);
        builder.Services.AddRemoteHttpClient(RemoteChatClient.HttpClientName, remote);
        // The readiness probe asks once and answers for itself: no retries, its own short timeout.
        builder.Services.AddHttpClient(RemoteChatClient.ProbeHttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => RemoteHttp.PrimaryHandler(remote));
        var chat = builder.Services.AddChatClient(sp => new RemoteChatClient(
                sp.GetRequiredService<IHttpClientFactory>().CreateClient(RemoteChatClient.HttpClientName), remote,
                sp.GetRequiredService<ILogger<RemoteChatClient>>()));
        pipeline?.Invoke(chat);
        return builder;
    }
}

/// <summary>Hands erasures to the engine, which drops the prompt cache's copies between steps.</summary>
internal sealed class EngineForgetter(InferenceEngine engine) : ChatPlatform.Core.Privacy.IConversationForgetter
{
    public void Forget(IReadOnlySet<string> conversationKeys) => _ = engine.ForgetAsync(conversationKeys);
}
