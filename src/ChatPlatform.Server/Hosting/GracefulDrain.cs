using ChatPlatform.Core.Chat;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Server.Hosting;

/// <summary>The <c>ChatPlatform:Shutdown</c> section: how a stopping server (SIGTERM, a rolling restart) drains.</summary>
public sealed class ShutdownOptions
{
    public const string SectionName = "ChatPlatform:Shutdown";

    /// <summary>How long replies in progress may run on after the stop signal before the server stops anyway.</summary>
    public int DrainSeconds { get; set; } = 30;

    public IReadOnlyList<string> Validate() =>
        DrainSeconds is < 0 or > 600 ? [$"{SectionName}:DrainSeconds must be between 0 and 600 (got {DrainSeconds})"] : [];
}

/// <summary>
/// Runs when the server is asked to stop, before any service stops and while the web server still listens: new turns are refused from then on
/// (503 with <c>Retry-After</c> on the HTTP channels, the busy answer in chats), the replies in progress finish (up to
/// <see cref="ShutdownOptions.DrainSeconds"/>), and only then do the web server, the safety event writer and the
/// store stop, so every acknowledged message is stored.
/// </summary>
internal sealed partial class GracefulDrain(ChatDrain drain, ShutdownOptions options, ILogger<GracefulDrain> logger) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs before any service stops, the web server included, so refusals and replies still reach clients.</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        // New turns are refused from this call on; the log line below comes after, so it can be relied upon.
        var draining = drain.DrainAsync(TimeSpan.FromSeconds(options.DrainSeconds), cancellationToken);
        LogDraining(logger, drain.Active, options.DrainSeconds);
        if (await draining)
            LogDrained(logger);
        else
            LogGaveUp(logger, drain.Active);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public static void Register(WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(ShutdownOptions.SectionName).Get<ShutdownOptions>() ?? new ShutdownOptions();
        if (options.Validate() is { Count: > 0 } errors)
            throw new OptionsValidationException(ShutdownOptions.SectionName, typeof(ShutdownOptions), errors);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<ChatDrain>();
        // Room for the drain and then for the web server, the writers and the store to stop.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(options.DrainSeconds + 15));
        builder.Services.AddHostedService<GracefulDrain>();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: new turns are refused; waiting up to {Seconds} s for {Active} reply(ies) in progress")]
    private static partial void LogDraining(ILogger logger, int active, int seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: every reply in progress has finished")]
    private static partial void LogDrained(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopping: {Active} reply(ies) still running at the drain limit are cut off")]
    private static partial void LogGaveUp(ILogger logger, int active);
}
