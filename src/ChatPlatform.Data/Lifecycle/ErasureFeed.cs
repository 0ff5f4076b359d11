using System.Text.Json;
using ChatPlatform.Core.Privacy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Data.Lifecycle;

/// <summary>
/// Tells this server's in-memory copies of conversations (<see cref="IConversationForgetter"/>) about erasures,
/// whoever made them: the console, <c>chatplatform data erase</c> in another process, or another node. It reads the
/// erasures' audit entries, which carry the hashed keys of the erased conversations, every <paramref name="interval"/>.
/// </summary>
public sealed partial class ErasureFeed(
    IDbContextFactory<ChatDbContext> contexts, IEnumerable<IConversationForgetter> forgetters, TimeProvider time, TimeSpan interval, ILogger<ErasureFeed> logger)
    : BackgroundService
{
    private static readonly string[] Actions = [DataLifecycle.UserEraseAction, DataLifecycle.ConversationEraseAction];
    private readonly IConversationForgetter[] _forgetters = [.. forgetters];
    private long _seen = -1;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_forgetters.Length == 0) return;
        using var timer = new PeriodicTimer(interval, time);
        do
        {
            try
            {
                await PollAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or JsonException)
            {
                LogPollFailed(logger, e.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>Applies the erasures recorded since the last poll; the first poll only notes where the log ends.</summary>
    public async Task PollAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (_seen < 0)
        {
            // Memory starts empty, so erasures from before this process started have nothing to drop.
            _seen = await db.AuditLog.AsNoTracking().MaxAsync(a => (long?)a.Id, cancellationToken) ?? 0;
            return;
        }
        var entries = await db.AuditLog.AsNoTracking().Where(a => a.Id > _seen && Actions.Contains(a.Action))
            .OrderBy(a => a.Id).Select(a => new { a.Id, a.Details }).ToListAsync(cancellationToken);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (entry.Details is { } details && JsonSerializer.Deserialize<ErasureDetails>(details)?.Forget is { } forget)
                keys.UnionWith(forget);
            _seen = entry.Id;
        }
        if (keys.Count == 0) return;
        foreach (var forgetter in _forgetters)
            forgetter.Forget(keys);
        LogForgotten(logger, keys.Count);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped the in-memory copies of {Count} erased conversation(s)")]
    private static partial void LogForgotten(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read erasures from the audit log ({Error}); trying again at the next interval")]
    private static partial void LogPollFailed(ILogger logger, string error);
}
