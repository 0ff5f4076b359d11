using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace ChatPlatform.Channels.DirectLine;

/// <summary>
/// One Direct Line conversation in this node's memory, a cache of the store: the activity log that
/// <c>GET …/activities</c> and a reconnecting stream replay from, and the one WebSocket that receives new activities
/// as they happen. Every stored message is kept at its store position (<see cref="ActivityPosition"/>), so its id and
/// watermark are the same on every node; the persona's greeting comes before them and notices that are not stored
/// (a busy answer) after the message they follow. Stored messages enter in order only: one that arrives past a gap
/// waits until the store fills the gap. Typing and livestreaming updates go to the socket only and are not kept, and
/// at most <paramref name="maxKept"/> activities are kept (the oldest are dropped; the store has the messages).
/// </summary>
public sealed class DirectLineConversation(string id, string persona, string userId, string locale, int maxKept = 200)
{
    private readonly Lock _gate = new();
    private readonly List<Entry> _log = [];
    private readonly SortedDictionary<int, Entry> _waiting = [];
    private int _stored;
    private int _notices;
    private StreamConnection? _socket;
    private int _windowCount;
    private DateTimeOffset _windowStart;

    /// <summary>A kept activity; <paramref name="Live"/> when it came from the turn that made it, with all its channel details.</summary>
    private sealed record Entry(ActivityPosition Position, DirectLineActivity Activity, bool Live);

    public string Id { get; } = id;
    public string Persona { get; } = persona;
    public string UserId { get; } = userId;
    public string Locale { get; } = locale;

    /// <summary>One turn at a time per conversation on this node, in the order the messages arrived.</summary>
    public SemaphoreSlim TurnGate { get; } = new(1, 1);

    /// <summary>One read of the store at a time, so two reads never add the same messages twice.</summary>
    public SemaphoreSlim SyncGate { get; } = new(1, 1);

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

    /// <summary>The last store position this conversation holds with nothing missing before it.</summary>
    public int StoredUpTo
    {
        get { lock (_gate) return _stored; }
    }

    /// <summary>Where the next stored messages start, for a conversation rebuilt from the store's most recent messages.</summary>
    public void StartAfter(int sequence)
    {
        lock (_gate) _stored = Math.Max(_stored, sequence);
    }

    /// <summary>Stamps the persona's greeting, which comes first and is not stored, and keeps it.</summary>
    public DirectLineActivity Greet(DirectLineActivity greeting)
    {
        lock (_gate)
        {
            Stamp(greeting, ActivityPosition.Greeting);
            Keep(new Entry(ActivityPosition.Greeting, greeting, true));
            return greeting;
        }
    }

    /// <summary>Stamps a stored message's activity with its position's id, timestamp and sequence id (not kept yet).</summary>
    public DirectLineActivity StampStored(DirectLineActivity activity, int sequence)
    {
        Stamp(activity, new ActivityPosition(sequence, 0));
        return activity;
    }

    /// <summary>
    /// Keeps the activity of the stored message at <paramref name="sequence"/> and sends it to the stream. A live
    /// activity replaces one rebuilt from the store at the same position (it has the client's details). Returns false
    /// when earlier stored messages are missing here: the caller reads them from the store.
    /// </summary>
    public bool AddStored(int sequence, DirectLineActivity activity, bool live)
    {
        lock (_gate)
        {
            LastUsed = DateTimeOffset.UtcNow;
            if (sequence <= _stored)
            {
                var index = _log.FindIndex(e => e.Position == new ActivityPosition(sequence, 0));
                if (live && index >= 0 && !_log[index].Live)
                {
                    _log[index] = _log[index] with { Activity = activity, Live = true };
                    Send([activity]);
                }
                return true;
            }
            var entry = new Entry(new ActivityPosition(sequence, 0), activity, live);
            if (!_waiting.TryGetValue(sequence, out var waiting) || (live && !waiting.Live))
                _waiting[sequence] = entry;
            var added = new List<DirectLineActivity>();
            while (_waiting.Remove(_stored + 1, out var next))
            {
                _stored++;
                _notices = 0;
                Keep(next);
                added.Add(next.Activity);
            }
            if (added.Count > 0) Send(added);
            return _waiting.Count == 0;
        }
    }

    /// <summary>Stamps, keeps and streams a notice that is not stored (a busy or failure answer) after the last stored message.</summary>
    public ActivityPosition AddNotice(DirectLineActivity activity)
    {
        lock (_gate)
        {
            var position = new ActivityPosition(_stored, ++_notices);
            Stamp(activity, position);
            Keep(new Entry(position, activity, true));
            Send([activity]);
            return position;
        }
    }

    /// <summary>Keeps and streams a notice another node made, at its position.</summary>
    public void AddNotice(ActivityPosition position, DirectLineActivity activity)
    {
        lock (_gate)
        {
            if (_log.Any(e => e.Position == position)) return;
            var index = _log.FindLastIndex(e => e.Position < position) + 1;
            _log.Insert(index, new Entry(position, activity, true));
            Trim();
            Send([activity]);
        }
    }

    /// <summary>Stamps an activity for the stream only (typing, livestreaming chunks): never replayed.</summary>
    public DirectLineActivity Push(DirectLineActivity activity)
    {
        lock (_gate)
        {
            Stamp(activity, new ActivityPosition(_stored, ++_notices), $"{Id}|{Guid.NewGuid():N}");
            Send([activity]);
            return activity;
        }
    }

    /// <summary>Streams an activity another node pushed.</summary>
    public void Forward(DirectLineActivity activity)
    {
        lock (_gate) Send([activity]);
    }

    /// <summary>Kept activities after <paramref name="watermark"/> (all when it is null or not a watermark).</summary>
    public ActivitySet Since(string? watermark)
    {
        lock (_gate)
        {
            LastUsed = DateTimeOffset.UtcNow;
            return new ActivitySet(After(ActivityPosition.ParseWatermark(watermark)), Watermark());
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
            var missed = After(ActivityPosition.ParseWatermark(watermark));
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
            _waiting.Clear();
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

    private void Stamp(DirectLineActivity activity, ActivityPosition position, string? id = null)
    {
        activity.Id ??= id ?? position.ActivityId(Id);
        activity.Timestamp ??= DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        activity.Conversation = new ConversationAccount(Id);
        activity.ChannelId ??= DirectLineApi.ChannelId;
        activity.ChannelData ??= [];
        activity.ChannelData["webchat:sequence-id"] = position.SequenceId;
    }

    private void Keep(Entry entry)
    {
        _log.Add(entry);
        Trim();
    }

    private void Trim()
    {
        if (_log.Count > maxKept) _log.RemoveRange(0, _log.Count - maxKept);
    }

    private void Send(IReadOnlyList<DirectLineActivity> activities) => _socket?.Send(Frame(activities, Watermark()));

    private List<DirectLineActivity> After(ActivityPosition? watermark) =>
        _log.Where(e => watermark is not { } w || e.Position > w).Select(e => e.Activity).ToList();

    private string Watermark() => (_log.Count > 0 ? _log[^1].Position : new ActivityPosition(_stored, 0)).ToString();

    private static string Frame(IReadOnlyList<DirectLineActivity> activities, string watermark) =>
        JsonSerializer.Serialize(new ActivitySet(activities, watermark), DirectLineJson.Options);
}

/// <summary>
/// Where an activity sits in a conversation, the same on every node: the store position of a stored message
/// (<see cref="ChatPlatform.Core.Chat.StoredMessage.Sequence"/>), or the greeting at 0, or the n-th notice after a stored
/// message. It is also the watermark (<c>12</c>, or <c>12.1</c> after a notice), the activity id's suffix and
/// Web Chat's <c>webchat:sequence-id</c>.
/// </summary>
public readonly record struct ActivityPosition(int Sequence, int Notice) : IComparable<ActivityPosition>
{
    public static readonly ActivityPosition Greeting = new(0, 0);

    /// <summary>Room in <see cref="SequenceId"/> for the notices and stream updates after one stored message.</summary>
    private const long NoticesPerMessage = 1000;

    public long SequenceId => Sequence * NoticesPerMessage + Math.Min(Notice, NoticesPerMessage - 1);

    public string ActivityId(string conversationId) => Notice == 0
        ? $"{conversationId}|{Sequence.ToString("D7", CultureInfo.InvariantCulture)}"
        : $"{conversationId}|{Sequence.ToString("D7", CultureInfo.InvariantCulture)}.{Notice.ToString(CultureInfo.InvariantCulture)}";

    public int CompareTo(ActivityPosition other) => Sequence != other.Sequence ? Sequence.CompareTo(other.Sequence) : Notice.CompareTo(other.Notice);

    public static bool operator <(ActivityPosition left, ActivityPosition right) => left.CompareTo(right) < 0;
    public static bool operator <=(ActivityPosition left, ActivityPosition right) => left.CompareTo(right) <= 0;
    public static bool operator >(ActivityPosition left, ActivityPosition right) => left.CompareTo(right) > 0;
    public static bool operator >=(ActivityPosition left, ActivityPosition right) => left.CompareTo(right) >= 0;

    public override string ToString() => Notice == 0
        ? Sequence.ToString(CultureInfo.InvariantCulture)
        : $"{Sequence.ToString(CultureInfo.InvariantCulture)}.{Notice.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The position a watermark names; null (everything) when it is empty or not a watermark.</summary>
    public static ActivityPosition? ParseWatermark(string? watermark)
    {
        if (string.IsNullOrEmpty(watermark)) return null;
        var dot = watermark.IndexOf('.', StringComparison.Ordinal);
        var sequence = dot < 0 ? watermark : watermark[..dot];
        var notice = dot < 0 ? "0" : watermark[(dot + 1)..];
        return int.TryParse(sequence, NumberStyles.None, CultureInfo.InvariantCulture, out var s)
            && int.TryParse(notice, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? new ActivityPosition(s, n)
            : null;
    }
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
