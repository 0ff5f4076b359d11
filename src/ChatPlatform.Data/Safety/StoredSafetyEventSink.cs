using System.Threading.Channels;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Data.Safety;

/// <summary>
/// Takes safety events from the chat path without waiting for the database: each event goes into an
/// unbounded in-memory queue that <see cref="SafetyEventWriter"/> drains into <c>safety_events</c>.
/// </summary>
public sealed class StoredSafetyEventSink : ISafetyEventSink
{
    private readonly Channel<SafetyEvent> _queue = Channel.CreateUnbounded<SafetyEvent>(new UnboundedChannelOptions { SingleReader = true });

    internal ChannelReader<SafetyEvent> Reader => _queue.Reader;

    public ValueTask RecordAsync(SafetyEvent safetyEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(safetyEvent);
        if (!_queue.Writer.TryWrite(safetyEvent))
            throw new InvalidOperationException("The safety event queue is closed: the host is shutting down.");
        return ValueTask.CompletedTask;
    }

    /// <summary>No more events are accepted; the writer stores what is queued and stops.</summary>
    internal void Complete() => _queue.Writer.TryComplete();
}

/// <summary>
/// Stores queued safety events in batches; on shutdown it stores everything still queued before it stops.
/// (Not a BackgroundService: that one may skip its loop entirely when stopped right after starting.)
/// </summary>
public sealed partial class SafetyEventWriter(
    StoredSafetyEventSink sink,
    IDbContextFactory<ChatDbContext> contexts,
    ILogger<SafetyEventWriter> logger) : IHostedService, IDisposable
{
    private const int MaxBatch = 200;
    private readonly CancellationTokenSource _stopping = new();
    private volatile bool _disposed;
    private Task? _loop;

    /// <summary>The writing loop; completes once the queue is closed and drained.</summary>
    public Task? ExecuteTask => _loop;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        sink.Complete();
        // A host that is torn down twice may dispose the writer before it stops it.
        if (!_disposed) await _stopping.CancelAsync();
        if (_loop is not null)
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose()
    {
        _disposed = true;
        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var batch = new List<SafetyEvent>(MaxBatch);
        // The loop ends when the queue is completed and empty, not on the stopping token, so nothing queued is dropped.
        while (await sink.Reader.WaitToReadAsync(CancellationToken.None))
        {
            while (batch.Count < MaxBatch && sink.Reader.TryRead(out var item))
                batch.Add(item);
            await StoreWithRetryAsync(batch, stoppingToken);
            batch.Clear();
        }
    }

    /// <summary>Retries until the batch is stored; only a host that is stopping gives up, and says how many events it lost.</summary>
    private async Task StoreWithRetryAsync(List<SafetyEvent> batch, CancellationToken stoppingToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await StoreAsync(contexts, batch, CancellationToken.None);
                return;
            }
            catch (Exception e) when (e is DbUpdateException or InvalidOperationException or System.Data.Common.DbException)
            {
                if (stoppingToken.IsCancellationRequested && attempt >= 5)
                {
                    LogStoreFailed(logger, batch.Count, e.Message);
                    return;
                }
                LogStoreRetry(logger, batch.Count, attempt, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 200 * attempt)), CancellationToken.None);
            }
        }
    }

    /// <summary>Stores events, linking each to its conversation row when that exists.</summary>
    public static async Task StoreAsync(IDbContextFactory<ChatDbContext> contexts, IReadOnlyCollection<SafetyEvent> events, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        foreach (var e in events)
        {
            var conversationId = await db.Conversations.AsNoTracking()
                .Where(c => c.Channel == e.Channel && c.ExternalId == e.ConversationId)
                .Select(c => (long?)c.Id)
                .FirstOrDefaultAsync(cancellationToken);
            db.SafetyEvents.Add(new SafetyEventRecord
            {
                ConversationId = conversationId,
                Channel = e.Channel,
                ExternalConversationId = e.ConversationId,
                Persona = e.Persona,
                Rail = e.Rail,
                Severity = e.Severity.ToString(),
                Action = e.Action,
                Excerpt = e.Excerpt,
                At = e.At.ToUniversalTime(),
            });
        }
        await db.SaveChangesAsync(cancellationToken);

        // A crisis referral marks the conversation, so reviewers and the admin area can find it.
        var now = DateTimeOffset.UtcNow;
        foreach (var e in events.Where(e => e.Rail is SafetyRails.Crisis or SafetyRails.MedicalEmergency))
        {
            await db.Conversations
                .Where(c => c.Channel == e.Channel && c.ExternalId == e.ConversationId && !c.CrisisEngaged)
                .ExecuteUpdateAsync(s => s.SetProperty(c => c.CrisisEngaged, true).SetProperty(c => c.CrisisEngagedAt, now), cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storing {Count} safety event(s) failed (attempt {Attempt}), retrying: {Error}")]
    private static partial void LogStoreRetry(ILogger logger, int count, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Count} safety event(s) could not be stored before shutdown: {Error}")]
    private static partial void LogStoreFailed(ILogger logger, int count, string error);
}
