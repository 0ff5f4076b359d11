using ChatPlatform.Channels.BotFramework;
using ChatPlatform.Channels.DirectLine;
using ChatPlatform.Channels.Http;
using ChatPlatform.Channels.OpenAi;
using ChatPlatform.Channels.RateLimiting;
using ChatPlatform.Channels.Slack;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Channels;

/// <summary>
/// Registers and maps every channel: the OpenAI-compatible API, Slack, Bot Framework and Direct Line (with the widget).
/// API keys come from the store (<c>AddChatData</c>).
/// </summary>
public static class ChannelsHosting
{
    public static IHostApplicationBuilder AddChannels(this IHostApplicationBuilder builder, string dataDirectory)
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        var rateLimit = builder.Configuration.GetSection(RateLimitOptions.SectionName).Get<RateLimitOptions>() ?? new RateLimitOptions();
        if (rateLimit.Validate() is { Count: > 0 } errors)
            throw new OptionsValidationException(RateLimitOptions.SectionName, typeof(RateLimitOptions), errors);
        services.AddPerIpRateLimiting(rateLimit);
        services.AddSingleton(builder.Configuration.GetSection(OpenAiApiOptions.SectionName).Get<OpenAiApiOptions>() ?? new OpenAiApiOptions());

        services.AddSingleton(builder.Configuration.GetSection(SlackOptions.SectionName).Get<SlackOptions>() ?? new SlackOptions());
        services.AddHttpClient(SlackResponder.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(30));
        services.AddSingleton<SlackResponder>();
        services.AddHostedService(sp => sp.GetRequiredService<SlackResponder>());
        builder.AddBotFramework();
        builder.AddDirectLine(dataDirectory);
        // /api/chat conversation tokens: signed with a key derived from the Direct Line key (shared between nodes alike).
        services.AddSingleton(sp => new ConversationTokens(
            DirectLineTokens.LoadKey(sp.GetRequiredService<DirectLineOptions>(), dataDirectory), sp.GetRequiredService<TimeProvider>()));
        return builder;
    }

    /// <summary>Middleware the channels need: WebSockets (the Direct Line stream) and CORS (the widget on other sites).</summary>
    public static IApplicationBuilder UseChannels(this IApplicationBuilder app)
    {
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.UseCors();
        return app;
    }

    public static IEndpointRouteBuilder MapChannels(this IEndpointRouteBuilder app)
    {
        app.MapOpenAiApi();
        app.MapSlackEvents();
        app.MapBotFramework();
        app.MapDirectLine();
        return app;
    }
}
