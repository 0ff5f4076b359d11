using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Data.Personas;

/// <summary>
/// Keeps this node serving the persona versions the store marks active. Before the first request it swaps in the
/// versions activated in the console (instead of the packs folder's copies); then, every <c>interval</c>
/// (<c>ChatPlatform:PersonaRefreshSeconds</c>), it picks up versions activated or rolled back on another node, so a
/// change made on one node is live on all of them within that time, without a restart.
/// </summary>
internal sealed partial class PersonaVersionWatcher(PersonaVersions versions, TimeSpan interval, TimeProvider time, ILogger<PersonaVersionWatcher> logger)
    : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var refresh = await versions.RefreshAsync(cancellationToken);
        if (refresh.Replaced.Count > 0) LogRestored(logger, refresh.Replaced.Count, refresh.Replaced);
        if (refresh.NotLoaded.Count > 0) LogNotLoaded(logger, refresh.NotLoaded);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                var refresh = await versions.RefreshAsync(stoppingToken);
                if (refresh.Replaced.Count > 0) LogPickedUp(logger, refresh.Replaced.Count, refresh.Replaced);
                if (refresh.NotLoaded.Count > 0) LogNotLoaded(logger, refresh.NotLoaded);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or IOException)
            {
                LogCheckFailed(logger, e.GetType().Name);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving {Count} persona version(s) activated in the admin console: {Ids}")]
    private static partial void LogRestored(ILogger logger, int count, IReadOnlyList<string> ids);

    [LoggerMessage(Level = LogLevel.Information, Message = "Now serving {Count} persona version(s) activated on another node: {Ids}")]
    private static partial void LogPickedUp(ILogger logger, int count, IReadOnlyList<string> ids);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The active version of persona(s) {Ids} does not load on this node (a file it names, such as an adapter, is missing here); the previous version is still served")]
    private static partial void LogNotLoaded(ILogger logger, IReadOnlyList<string> ids);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not check the store for persona versions ({Error}); trying again at the next interval")]
    private static partial void LogCheckFailed(ILogger logger, string error);
}
