using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace ChatPlatform.Channels.DirectLine;

/// <summary>
/// One Direct Line conversation in memory: the activity log that <c>GET …/activities</c> and a reconnecting
/// stream replay from (watermark = the last sequence number seen), and the one WebSocket that receives new
/// activities as they happen. Typing and livestreaming updates go to the socket only and are not kept, and at most
/// <paramref name="maxKept"/> activities are kept (the oldest are dropped; the store has the messages).
/// </summary>
public sealed class DirectLineConversation(string id, string persona, string userId, string locale, int maxKept = 200)
{
    private readonly Lock _gate = new();
    private readonly List<(int Sequence, DirectLineActivity Activity)> _log = [];
    private int _sequence;
    private StreamConnection? _socket;
    private int _windowCount;
    private DateTimeOffset _windowStart;

    public string Id { get; } = id;
    public string Persona { get; } = persona;
    public string UserId { get; } = userId;
    public string Locale { get; } = locale;

    /// <summary>One turn at a time per conversation, in the order the messages arrived.</summary>
    public SemaphoreSlim TurnGate { get; } = new(1, 1);

    public DateTimeOffset LastUsed { get; private set; } = DateTimeOffset.UtcNow;

    /// <summary>Activities kept for replay.</summary>
    public int KeptCount
    {
        get { lock (_gate) return _log.Count; }
    }

    public bool HasSocket
    {
        get { lock (_gate) return _socket is not null; }
    }

    /// <summary>Stamps id, timestamp, conversation and sequence on an activity, keeps it and pushes it to the stream.</summary>
    public DirectLineActivity Append(DirectLineActivity activity) => Publish(activity, keep: true);

    /// <summary>Like <see cref="Append"/> but for the stream only (typing, livestreaming chunks): never replayed.</summary>
    public DirectLineActivity Push(DirectLineActivity activity) => Publish(activity, keep: false);

    private DirectLineActivity Publish(DirectLineActivity activity, bool keep)
    {
        lock (_gate)
        {
            var sequence = ++_sequence;
            activity.Id ??= $"{Id}|{sequence.ToString("D7", CultureInfo.InvariantCulture)}";
            activity.Timestamp ??= DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            activity.Conversation = new ConversationAccount(Id);
            activity.ChannelId ??= DirectLineApi.ChannelId;
            activity.ChannelData ??= [];
            activity.ChannelData["webchat:sequence-id"] = sequence;
            if (keep)
            {
                _log.Add((sequence, activity));
                if (_log.Count > maxKept) _log.RemoveRange(0, _log.Count - maxKept);
            }
            LastUsed = DateTimeOffset.UtcNow;
            _socket?.Send(Frame([activity], Watermark()));
            return activity;
        }
    }

    /// <summary>Kept activities after <paramref name="watermark"/> (all when it is null or not a number).</summary>
    public ActivitySet Since(string? watermark)
    {
        lock (_gate)
        {
            LastUsed = DateTimeOffset.UtcNow;
            return new ActivitySet(After(ParseWatermark(watermark)), Watermark());
        }
    }

    /// <summary>
    /// Makes <paramref name="socket"/> the conversation's stream: it first receives what it missed after the
    /// watermark, then every new activity. An earlier socket is closed ("collision"), as Direct Line does.
    /// </summary>
    public StreamConnection? Attach(StreamConnection socket, string? watermark)
    {
        lock (_gate)
        {
            var previous = _socket;
            _socket = socket;
            var missed = After(ParseWatermark(watermark));
            if (missed.Count > 0) socket.Send(Frame(missed, Watermark()));
            LastUsed = DateTimeOffset.UtcNow;
            return previous;
        }
    }

    /// <summary>Empties the kept transcript and closes the stream (the conversation was erased).</summary>
    public void Forget()
    {
        lock (_gate)
        {
            _log.Clear();
            _socket?.Close();
            _socket = null;
        }
    }

    public void Detach(StreamConnection socket)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_socket, socket)) _socket = null;
        }
    }

    /// <summary>The per-conversation message limit: a fixed one-minute window. Returns the wait when over it.</summary>
    public TimeSpan? TakeMessagePermit(int perMinute, DateTimeOffset now)
    {
        if (perMinute == 0) return null;
        lock (_gate)
        {
            if (now - _windowStart >= TimeSpan.FromMinutes(1))
            {
                _windowStart = now;
                _windowCount = 0;
            }
            if (_windowCount >= perMinute)
                return _windowStart + TimeSpan.FromMinutes(1) - now;
            _windowCount++;
            return null;
        }
    }

    private List<DirectLineActivity> After(int watermark) =>
        _log.Where(e => e.Sequence > watermark).Select(e => e.Activity).ToList();

    private string Watermark() => (_log.Count > 0 ? _log[^1].Sequence : 0).ToString(CultureInfo.InvariantCulture);

    private static int ParseWatermark(string? watermark) =>
        int.TryParse(watermark, NumberStyles.None, CultureInfo.InvariantCulture, out var w) ? w : 0;

    private static string Frame(IReadOnlyList<DirectLineActivity> activities, string watermark) =>
        JsonSerializer.Serialize(new ActivitySet(activities, watermark), DirectLineJson.Options);
}

/// <summary>
/// The WebSocket of one conversation: frames queue here and one loop sends them in order. A client that falls
/// too far behind is disconnected; it reconnects and replays from its watermark, so nothing is lost.
/// </summary>
public sealed class StreamConnection(WebSocket socket)
{
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(30);
    private readonly Channel<string> _outbox = Channel.CreateBounded<string>(new BoundedChannelOptions(1024) { SingleReader = true });

    public void Send(string frame)
    {
        if (!_outbox.Writer.TryWrite(frame))
            Close();
    }

    /// <summary>Ends the connection; the send loop closes the socket.</summary>
    public void Close() => _outbox.Writer.TryComplete();

    /// <summary>Sends queued frames (and an empty keep-alive frame when idle) until either side closes.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reading = ReadUntilClosedAsync(linked.Token);
        try
        {
            while (true)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(linked.Token);
                idle.CancelAfter(KeepAlive);
                bool more;
                try
                {
                    more = await _outbox.Reader.WaitToReadAsync(idle.Token);
                }
                catch (OperationCanceledException) when (!linked.IsCancellationRequested)
                {
                    await socket.SendAsync(ReadOnlyMemory<byte>.Empty, WebSocketMessageType.Text, true, linked.Token);
                    continue;
                }
                if (!more) break;
                while (_outbox.Reader.TryRead(out var frame))
                    await socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, linked.Token);
            }
            if (socket.State == WebSocketState.Open)
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "collision", linked.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
            // The client went away or the server is stopping; the client resumes with its watermark.
        }
        finally
        {
            await linked.CancelAsync();
            await reading;
        }
    }

    /// <summary>Reads and ignores what the client sends (empty pings) until it closes.</summary>
    private async Task ReadUntilClosedAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[1024];
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var result = await socket.ReceiveAsync(buffer, cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                    break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
            // The connection dropped: the client resumes with its watermark.
        }
        Close();
    }
}
