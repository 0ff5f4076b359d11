using ChatPlatform.Core.Configuration;
using ChatPlatform.Data.Channels;
using ChatPlatform.Data.Nodes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Data.Lifecycle;

/// <summary>
/// Runs the retention purge (conversations, safety events, and the channel delivery ids the <see cref="DeliveryLog"/>
/// no longer needs) at start-up and then every <see cref="RetentionOptions.IntervalMinutes"/>. Nodes sharing a store
/// purge under one <see cref="JobLeases">lease</see>: the holder renews it at each run, and another node takes over
/// once the holder has missed a run.
/// </summary>
public sealed partial class RetentionService(
    DataLifecycle lifecycle, DeliveryLog deliveries, JobLeases leases, RetentionOptions retention, TimeProvider time, ILogger<RetentionService> logger)
    : BackgroundService
{
    public const string JobName = "retention";

    private TimeSpan Interval => TimeSpan.FromMinutes(retention.IntervalMinutes);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or Microsoft.EntityFrameworkCore.DbUpdateException)
            {
                LogPurgeFailed(logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>One run: purges when this node holds (or gets) the lease; false when another node does the purging.</summary>
    public async Task<bool> RunOnceAsync(CancellationToken cancellationToken)
    {
        // Two intervals: the holder renews at every run, so the lease lapses only when the holder has missed one.
        if (!await leases.TryTakeAsync(JobName, 2 * Interval, cancellationToken))
        {
            LogLeasedElsewhere(logger);
            return false;
        }
        var now = time.GetUtcNow();
        var result = await lifecycle.PurgeAsync(now, cancellationToken);
        if (result.Total > 0)
            LogPurged(logger, result.Conversations, result.Messages, result.Feedback, result.SafetyEvents);
        var ids = await deliveries.PurgeAsync(now, cancellationToken);
        if (ids > 0)
            LogDeliveriesPurged(logger, ids);
        return true;
    }

    /// <summary>A node that stops hands the purge on at once instead of after the lease runs out.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await leases.ReleaseAsync(JobName, cancellationToken);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or OperationCanceledException)
        {
            LogReleaseFailed(logger, e.GetType().Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention purge removed {Conversations} conversation(s), {Messages} message(s), {Feedback} feedback row(s), {SafetyEvents} safety event(s)")]
    private static partial void LogPurged(ILogger logger, int conversations, int messages, int feedback, int safetyEvents);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Retention purge removed {Count} channel delivery id(s) older than a day")]
    private static partial void LogDeliveriesPurged(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Retention purge skipped: another node holds the retention lease")]
    private static partial void LogLeasedElsewhere(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Retention purge failed; it runs again at the next interval: {Error}")]
    private static partial void LogPurgeFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release the retention lease at shutdown ({Error}); it expires by itself")]
    private static partial void LogReleaseFailed(ILogger logger, string error);
}
