using ChatPlatform.Channels.BotFramework;
using ChatPlatform.Channels.DirectLine;
using ChatPlatform.Channels.Http;
using ChatPlatform.Channels.OpenAi;
using ChatPlatform.Channels.RateLimiting;
using ChatPlatform.Channels.Slack;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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
        var forwarded = builder.Configuration.GetSection(ForwardedHeadersSettings.SectionName).Get<ForwardedHeadersSettings>() ?? new ForwardedHeadersSettings();
        if (forwarded.Validate() is { Count: > 0 } forwardedErrors)
            throw new OptionsValidationException(ForwardedHeadersSettings.SectionName, typeof(ForwardedHeadersSettings), forwardedErrors);
        services.AddSingleton(forwarded);
        services.Configure<ForwardedHeadersOptions>(forwarded.Apply);
        services.AddHostedService(sp => new ForwardedHeadersNotice(forwarded, sp.GetRequiredService<ILogger<ForwardedHeadersNotice>>()));
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

    /// <summary>
    /// First in the pipeline: the client's address and scheme from the configured proxies' forwarded headers, so the
    /// rate limits, the local-only checks and secure cookies see the real client. Nothing when no proxy is configured.
    /// </summary>
    public static IApplicationBuilder UseClientAddress(this IApplicationBuilder app)
    {
        if (app.ApplicationServices.GetRequiredService<ForwardedHeadersSettings>().Enabled)
            app.UseForwardedHeaders();
        return app;
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

/// <summary>Says once, at start-up, whose forwarded headers are believed.</summary>
internal sealed partial class ForwardedHeadersNotice(ForwardedHeadersSettings settings, ILogger<ForwardedHeadersNotice> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var mode = settings.Describe();
        LogMode(logger, mode);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Forwarded headers: {Mode}")]
    private static partial void LogMode(ILogger logger, string mode);
}
