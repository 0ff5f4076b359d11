using ChatPlatform.Core.Configuration;
using ChatPlatform.Inference.Local;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Inference;

public static class InferenceHostingExtensions
{
    /// <summary>
    /// Registers the shared local inference core: the model (loaded once), the batching engine and the
    /// <see cref="IChatClient"/> every channel uses.
    /// </summary>
    /// <param name="pipeline">Adds middlewares (such as the output rails) outside the logging one, outermost first.</param>
    public static IHostApplicationBuilder AddInference(this IHostApplicationBuilder builder, ChatPlatformOptions options, Action<ChatClientBuilder>? pipeline = null)
    {
        var services = builder.Services;
        services.AddSingleton(sp =>
        {
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("ChatPlatform.Inference");
            LlamaNative.NativeLog += (level, message) => logger.LogWarning("llama.cpp {Level}: {Message}", level, message);
            var path = ModelLocator.Resolve(options, logger);
            return LocalModel.Load(path, options.Model.EffectiveThreads);
        });
        services.AddSingleton(sp => new InferenceEngine(
            sp.GetRequiredService<LocalModel>(), options.Model, sp.GetRequiredService<ILogger<InferenceEngine>>()));
        var chat = services.AddChatClient(sp => new LocalChatClient(
            sp.GetRequiredService<LocalModel>(), sp.GetRequiredService<InferenceEngine>(), options.Model,
            sp.GetRequiredService<ILogger<LocalChatClient>>()));
        pipeline?.Invoke(chat);
        chat.UseLogging();
        return builder;
    }
}
