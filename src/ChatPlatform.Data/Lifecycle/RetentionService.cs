using ChatPlatform.Core.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Data.Lifecycle;

/// <summary>Runs the retention purge at start-up and then every <see cref="RetentionOptions.IntervalMinutes"/>.</summary>
public sealed partial class RetentionService(DataLifecycle lifecycle, RetentionOptions retention, TimeProvider time, ILogger<RetentionService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(retention.IntervalMinutes), time);
        do
        {
            try
            {
                var result = await lifecycle.PurgeAsync(time.GetUtcNow(), stoppingToken);
                if (result.Total > 0)
                    LogPurged(logger, result.Conversations, result.Messages, result.Feedback, result.SafetyEvents);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention purge removed {Conversations} conversation(s), {Messages} message(s), {Feedback} feedback row(s), {SafetyEvents} safety event(s)")]
    private static partial void LogPurged(ILogger logger, int conversations, int messages, int feedback, int safetyEvents);

    [LoggerMessage(Level = LogLevel.Error, Message = "Retention purge failed; it runs again at the next interval: {Error}")]
    private static partial void LogPurgeFailed(ILogger logger, string error);
}
