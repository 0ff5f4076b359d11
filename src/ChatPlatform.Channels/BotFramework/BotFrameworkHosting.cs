using ChatPlatform.Core.Personas;
using Microsoft.Bot.Builder;
using Microsoft.Bot.Builder.Integration.AspNet.Core;
using Microsoft.Bot.Connector.Authentication;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Channels.BotFramework;

/// <summary>What the endpoint needs per request: the SDK adapter, the bot, and whether tokens are checked.</summary>
public sealed class BotFrameworkRuntime(
    PlatformCloudAdapter adapter, PersonaBot bot, IPersonaCatalog personas, bool authenticationEnabled, IHostApplicationLifetime lifetime, ILogger logger)
{
    public PlatformCloudAdapter Adapter { get; } = adapter;
    public PersonaBot Bot { get; } = bot;
    public IPersonaCatalog Personas { get; } = personas;

    /// <summary>False when no <c>MicrosoftAppId</c> is configured: then only loopback requests are served.</summary>
    public bool AuthenticationEnabled { get; } = authenticationEnabled;

    /// <summary>
    /// Turns stop only when the server does: replies go to the channel's service, not into the request, so a channel
    /// that gives up on a slow request (Azure Bot Service waits 15 s) still gets the answer.
    /// </summary>
    public CancellationToken Stopping => lifetime.ApplicationStopping;

    internal ILogger Logger { get; } = logger;
}

/// <summary>Wires the Bot Framework SDK: configuration-based authentication, the <see cref="CloudAdapter"/> and the bot.</summary>
public static partial class BotFrameworkHosting
{
    public const string HttpClientName = "botframework";

    public static IHostApplicationBuilder AddBotFramework(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        var options = configuration.GetSection(BotFrameworkOptions.SectionName).Get<BotFrameworkOptions>() ?? new BotFrameworkOptions();
        if (options.Validate() is { Count: > 0 } errors)
            throw new OptionsValidationException(BotFrameworkOptions.SectionName, typeof(BotFrameworkOptions), errors);
        services.AddSingleton(options);
        services.AddHttpClient(HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(30));

        // Outbound credentials from MicrosoftAppId/MicrosoftAppPassword/MicrosoftAppTenantId/MicrosoftAppType;
        // replaceable (tests use their own so no real login endpoint is called).
        services.TryAddSingleton<ServiceClientCredentialsFactory>(sp =>
            new ConfigurationServiceClientCredentialFactory(configuration, logger: sp.GetRequiredService<ILogger<ConfigurationServiceClientCredentialFactory>>()));
        services.TryAddSingleton<BotFrameworkAuthentication>(sp => new ConfigurationBotFrameworkAuthentication(
            configuration,
            sp.GetRequiredService<ServiceClientCredentialsFactory>(),
            new AuthenticationConfiguration(),
            sp.GetRequiredService<IHttpClientFactory>(),
            sp.GetRequiredService<ILogger<ConfigurationBotFrameworkAuthentication>>()));
        services.AddSingleton<BotDirectory>();
        services.AddSingleton<BotUserRateLimiter>();
        services.AddSingleton<PersonaBot>();
        // CloudAdapter's constructors are ambiguous to the container: build it explicitly.
        services.AddSingleton(sp =>
        {
            var logger = sp.GetRequiredService<ILogger<PersonaBot>>();
            return new PlatformCloudAdapter(sp.GetRequiredService<BotFrameworkAuthentication>(), sp.GetRequiredService<ILogger<CloudAdapter>>())
            {
                OnTurnError = (turn, exception) => OnTurnErrorAsync(turn, exception, logger),
            };
        });
        services.AddSingleton(sp => new BotFrameworkRuntime(
            sp.GetRequiredService<PlatformCloudAdapter>(),
            sp.GetRequiredService<PersonaBot>(),
            sp.GetRequiredService<IPersonaCatalog>(),
            AuthenticationEnabled(configuration),
            sp.GetRequiredService<IHostApplicationLifetime>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("ChatPlatform.Channels.BotFramework")));
        services.AddHostedService(sp => new BotAuthNotice(AuthenticationEnabled(configuration), sp.GetRequiredService<ILogger<BotAuthNotice>>()));
        return builder;
    }

    /// <summary>Tokens are checked once an app id is configured, as the SDK itself decides.</summary>
    public static bool AuthenticationEnabled(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[MicrosoftAppCredentials.MicrosoftAppIdKey]);

    /// <summary>The bot failed mid-turn: log what failed (never the message) and apologise to the user.</summary>
    internal static async Task OnTurnErrorAsync(ITurnContext turn, Exception exception, ILogger logger)
    {
        var error = exception.GetType().Name;
        LogTurnFailed(logger, error, turn.Activity.ChannelId, turn.Activity.Type);
        try
        {
            await turn.SendActivityAsync("Sorry, something went wrong on my side and I could not answer. Please try again in a moment.");
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or Microsoft.Rest.HttpOperationException or Microsoft.Bot.Schema.ErrorResponseException)
        {
            var failure = e.GetType().Name;
            LogApologyFailed(logger, failure, turn.Activity.ChannelId);
        }
    }

    // The exception itself is logged at Debug only: its message may quote what the user wrote.
    [LoggerMessage(Level = LogLevel.Error, Message = "Bot turn failed with {Error} on channel {Channel} ({ActivityType} activity); the user was sent an apology")]
    private static partial void LogTurnFailed(ILogger logger, string error, string channel, string activityType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not send the apology on channel {Channel} ({Error})")]
    private static partial void LogApologyFailed(ILogger logger, string error, string channel);
}

/// <summary>
/// The SDK's <see cref="CloudAdapter"/>, opening its activity entry point to the endpoint, which parses and checks
/// the activity itself so malformed input gets a clear 400.
/// </summary>
public sealed class PlatformCloudAdapter(BotFrameworkAuthentication authentication, ILogger<CloudAdapter> logger) : CloudAdapter(authentication, logger)
{
    /// <summary>Authenticates <paramref name="authHeader"/> for the activity and runs the turn.</summary>
    public Task<InvokeResponse> ProcessAsync(string authHeader, Microsoft.Bot.Schema.Activity activity, BotCallbackHandler callback, CancellationToken cancellationToken) =>
        ProcessActivityAsync(authHeader, activity, callback, cancellationToken);
}

/// <summary>Says once, at start-up, when Bot Framework authentication is off.</summary>
internal sealed partial class BotAuthNotice(bool authenticationEnabled, ILogger<BotAuthNotice> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!authenticationEnabled)
            LogAuthOff(logger);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bot Framework authentication is off (MicrosoftAppId is not set): /api/messages serves only requests from this machine, for local development and the Emulator")]
    private static partial void LogAuthOff(ILogger logger);
}
