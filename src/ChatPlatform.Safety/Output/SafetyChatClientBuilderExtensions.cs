using ChatPlatform.Core.Metrics;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPlatform.Safety.Output;

public static class SafetyChatClientBuilderExtensions
{
    /// <summary>Adds the output rails (<see cref="SafetyChatClient"/>); <see cref="OutputRails"/> comes from the services.</summary>
    public static ChatClientBuilder UseSafety(this ChatClientBuilder builder) =>
        builder.Use((inner, services) => new SafetyChatClient(inner,
            services.GetRequiredService<OutputRails>(),
            services.GetService<IPersonaCatalog>(),
            services.GetService<ISafetyEventSink>(),
            services.GetService<ChatPlatformMetrics>()));
}
