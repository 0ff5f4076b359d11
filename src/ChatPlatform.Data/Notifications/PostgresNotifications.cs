using ChatPlatform.Core.Nodes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ChatPlatform.Data.Notifications;

/// <summary>
/// Short notices between the nodes that share one PostgreSQL database, over PostgreSQL's own <c>LISTEN</c>/<c>NOTIFY</c>
/// (no extra server). One connection per node listens on every channel a subscriber named; sending borrows a pooled
/// connection. Notices are not stored: one sent while a node is not listening never reaches it, so subscribers read
/// the store when listening resumes (<see cref="NoticeSubscription.OnResumed"/>) and poll it while <see cref="IsListening"/>
/// is false.
/// </summary>
public sealed partial class PostgresNotifications(string connectionString, IHostApplicationLifetime lifetime, ILogger<PostgresNotifications> logger)
    : BackgroundService, INodeNotifications
{
    /// <summary>PostgreSQL refuses payloads of 8000 bytes or more; a larger notice must name what to read instead.</summary>
    public const int MaxPayloadBytes = 7900;

    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);
    private readonly List<NoticeSubscription> _subscriptions = [];
    private readonly NpgsqlDataSource _senders = NpgsqlDataSource.Create(connectionString);
    private volatile bool _listening;

    /// <summary>True while notices arrive as they are sent; false before the first connection and after a lost one.</summary>
    public bool IsListening => _listening;

    int INodeNotifications.MaxPayloadBytes => MaxPayloadBytes;

    /// <summary>Adds a subscriber; only while the host starts.</summary>
    public void Subscribe(NoticeSubscription subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        lock (_subscriptions)
            _subscriptions.Add(subscription);
    }

    /// <summary>Sends <paramref name="payload"/> to every node listening on <paramref name="channel"/>, this one included.</summary>
    public async Task NotifyAsync(string channel, string payload, CancellationToken cancellationToken)
    {
        await using var command = _senders.CreateCommand("SELECT pg_notify(@channel, @payload)");
        command.Parameters.AddWithValue("channel", channel);
        command.Parameters.AddWithValue("payload", payload);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Subscribers sign up as they start, which may be after this service: listen once they all have.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try
            {
                await started.Task;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        NoticeSubscription[] subscriptions;
        lock (_subscriptions)
            subscriptions = [.. _subscriptions];
        if (subscriptions.Length == 0) return;
        // The listening connection sits idle for long stretches: keep-alive queries find a dead one.
        var listener = new NpgsqlConnectionStringBuilder(connectionString) { KeepAlive = 10, Pooling = false }.ConnectionString;
        var lost = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ListenAsync(listener, subscriptions, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or InvalidOperationException or TimeoutException)
            {
                if (!lost) LogListenLost(logger, e.GetType().Name);
                lost = true;
            }
            finally
            {
                _listening = false;
            }
            try
            {
                await Task.Delay(RetryDelay, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task ListenAsync(string listener, NoticeSubscription[] subscriptions, CancellationToken stoppingToken)
    {
        await using var connection = new NpgsqlConnection(listener);
        await connection.OpenAsync(stoppingToken);
        var received = System.Threading.Channels.Channel.CreateUnbounded<(string Channel, string Payload)>(new() { SingleReader = true });
        // Npgsql raises this on the thread that waits; the notices are handled on another so waiting never stalls.
        connection.Notification += (_, e) => received.Writer.TryWrite((e.Channel, e.Payload));
        foreach (var channel in subscriptions.Select(s => s.Channel).Distinct(StringComparer.Ordinal))
        {
            await using var command = new NpgsqlCommand($"LISTEN \"{channel.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
            await command.ExecuteNonQueryAsync(stoppingToken);
        }
        _listening = true;
        LogListening(logger, subscriptions.Length);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var dispatch = DispatchAsync(received.Reader, subscriptions, stop.Token);
        try
        {
            // Whatever was sent while this node was not listening is read from the store now.
            foreach (var subscription in subscriptions)
                await subscription.OnResumed(stoppingToken);
            while (true)
                await connection.WaitAsync(stoppingToken);
        }
        finally
        {
            received.Writer.TryComplete();
            await stop.CancelAsync();
            await dispatch;
        }
    }

    private async Task DispatchAsync(System.Threading.Channels.ChannelReader<(string Channel, string Payload)> reader, NoticeSubscription[] subscriptions, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var (channel, payload) in reader.ReadAllAsync(cancellationToken))
            {
                foreach (var subscription in subscriptions)
                {
                    if (!string.Equals(subscription.Channel, channel, StringComparison.Ordinal)) continue;
                    try
                    {
                        await subscription.OnNotice(payload, cancellationToken);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        LogNoticeFailed(logger, e, channel);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Listening stopped; the next connection starts with a fresh read of the store.
        }
    }

    public override void Dispose()
    {
        _senders.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening for notices from other nodes ({Count} subscriber(s))")]
    private static partial void LogListening(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the connection that listens for notices from other nodes ({Error}); polling the store until it is back")]
    private static partial void LogListenLost(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "A notice on {Channel} could not be handled")]
    private static partial void LogNoticeFailed(ILogger logger, Exception exception, string channel);
}
