using ChatPlatform.Core.Metrics;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ChatPlatform.Cli.LoadTesting;

/// <summary>
/// What a Direct Line load run does: how many conversations, for how long, against which servers. With several
/// servers (the nodes of one deployment) every request, the stream included, goes to the next one in turn, as a
/// round-robin load balancer without sticky sessions would send it.
/// </summary>
public sealed record DirectLineLoadSettings(IReadOnlyList<Uri> Servers, int Conversations, TimeSpan Duration, string Persona = "gradchat", TimeSpan? ReplyTimeout = null)
{
    /// <summary>One server.</summary>
    public DirectLineLoadSettings(Uri Server, int Conversations, TimeSpan Duration, string Persona = "gradchat", TimeSpan? ReplyTimeout = null)
        : this([Server], Conversations, Duration, Persona, ReplyTimeout)
    {
    }
}

/// <summary>Latency percentiles in milliseconds.</summary>
public sealed record LatencySummary(int Count, double P50, double P99, double Max)
{
    public static LatencySummary Of(IEnumerable<double> samples)
    {
        var sorted = samples.Order().ToArray();
        if (sorted.Length == 0) return new(0, 0, 0, 0);
        double At(double q) => ChatMetrics.Percentile(sorted, q)!.Value;
        return new(sorted.Length, Math.Round(At(0.50), 1), Math.Round(At(0.99), 1), Math.Round(sorted[^1], 1));
    }
}

/// <summary>
/// The outcome of a load run. Every message sent ends as exactly one of: a reply, a busy answer (a busy activity
/// or HTTP 429), an error reply, or missing (nothing within the reply timeout). Latencies "outside inference":
/// token, conversation start, the POST of a message (the server stores and echoes it, then answers), the echo's
/// arrival on the WebSocket, and the busy answer (decided without any model work).
/// </summary>
public sealed record DirectLineLoadReport(
    int Conversations,
    int ConversationsStarted,
    double DurationSeconds,
    int MessagesSent,
    int Replies,
    int BusyAnswers,
    int RateLimited,
    int ErrorReplies,
    int Missing,
    int ServerErrors,
    IReadOnlyDictionary<string, int> StatusCodes,
    LatencySummary TokenMs,
    LatencySummary StartMs,
    LatencySummary PostMs,
    LatencySummary EchoMs,
    LatencySummary BusyMs,
    LatencySummary ReplyMs,
    IReadOnlyDictionary<string, int> RepliesByConversation,
    IReadOnlyDictionary<string, int> AcceptedByConversation,
    IReadOnlyDictionary<string, int> BusyByConversation)
{
    /// <summary>Every message got a reply or an explicit busy answer, and nothing failed on the server.</summary>
    public bool Passed => Missing == 0 && ServerErrors == 0 && ErrorReplies == 0 && ConversationsStarted == Conversations;

    public string ToTable()
    {
        var b = new StringBuilder();
        b.AppendLine(FormattableString.Invariant($"conversations {ConversationsStarted}/{Conversations}, {DurationSeconds:0.#} s"));
        b.AppendLine(FormattableString.Invariant($"messages sent {MessagesSent}: replies {Replies}, busy answers {BusyAnswers}, rate limited (429) {RateLimited}, error replies {ErrorReplies}, missing {Missing}"));
        b.AppendLine(FormattableString.Invariant($"HTTP 5xx {ServerErrors}; status codes {string.Join(", ", StatusCodes.Select(kv => $"{kv.Key}×{kv.Value}"))}"));
        b.AppendLine("latency (ms)           n      p50      p99      max");
        foreach (var (name, s) in new[] { ("token", TokenMs), ("start conversation", StartMs), ("post message", PostMs), ("echo on stream", EchoMs), ("busy answer", BusyMs), ("reply (with inference)", ReplyMs) })
            b.AppendLine(FormattableString.Invariant($"{name,-20} {s.Count,5} {s.P50,8:0.0} {s.P99,8:0.0} {s.Max,8:0.0}"));
        b.Append(Passed ? "PASS: every message got a reply or an explicit busy answer, no 5xx" : "FAIL: some messages got no answer, an error, or a 5xx");
        return b.ToString();
    }
}

/// <summary>
/// Drives many Direct Line conversations at once the way Web Chat does: a widget token, a started conversation,
/// the WebSocket stream, then messages one after another (after a busy answer, it waits the time the server asks).
/// A load tool, not a test: it only talks to the servers it is pointed at.
/// </summary>
public sealed class DirectLineLoadTest(HttpClient http)
{
    /// <summary>The channel the server stores Direct Line conversations under (the Direct Line API's <c>ChannelId</c>).</summary>
    public const string StoreChannel = "directline";

    /// <summary>The <c>channelData</c> key that marks the server's busy answer (the Direct Line bot's <c>BusyKey</c>).</summary>
    public const string BusyKey = "chatplatform:busy";

    /// <summary>The <c>channelData</c> key that marks the server's error reply (the Direct Line bot's <c>ErrorKey</c>).</summary>
    public const string ErrorKey = "chatplatform:error";

    private readonly ConcurrentBag<double> _token = [], _start = [], _post = [], _echo = [], _busy = [], _reply = [];
    private readonly ConcurrentDictionary<string, int> _status = new();
    private readonly ConcurrentDictionary<string, int> _repliesByConversation = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _acceptedByConversation = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _busyByConversation = new(StringComparer.Ordinal);
    private int _started, _sent, _replies, _busyAnswers, _rateLimited, _errors, _missing, _serverErrors, _requests;
    private IReadOnlyList<string> _servers = [];

    public async Task<DirectLineLoadReport> RunAsync(DirectLineLoadSettings settings, CancellationToken cancellationToken)
    {
        _servers = [.. settings.Servers.Select(s => s.ToString().TrimEnd('/'))];
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, settings.Conversations)
            .Select(i => Task.Run(() => ConverseAsync(settings, i, cancellationToken), cancellationToken))
            .ToArray();
        await Task.WhenAll(workers);
        return new DirectLineLoadReport(
            settings.Conversations, _started, Math.Round(clock.Elapsed.TotalSeconds, 1), _sent, _replies, _busyAnswers, _rateLimited, _errors, _missing, _serverErrors,
            new SortedDictionary<string, int>(_status), LatencySummary.Of(_token), LatencySummary.Of(_start), LatencySummary.Of(_post),
            LatencySummary.Of(_echo), LatencySummary.Of(_busy), LatencySummary.Of(_reply), new SortedDictionary<string, int>(_repliesByConversation),
            new SortedDictionary<string, int>(_acceptedByConversation), new SortedDictionary<string, int>(_busyByConversation));
    }

    /// <summary>The server for the next request: each in turn.</summary>
    private string Next() => _servers[(int)((uint)Interlocked.Increment(ref _requests) % (uint)_servers.Count)];

    /// <summary>The stream URL a node returned, sent to the next node instead, as a balancer in front of them would.</summary>
    private string Balanced(string streamUrl)
    {
        var node = new Uri(Next());
        return new UriBuilder(streamUrl) { Host = node.Host, Port = node.Port }.Uri.ToString();
    }

    private void Count(HttpStatusCode code)
    {
        _status.AddOrUpdate(((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture), 1, (_, n) => n + 1);
        if ((int)code >= 500) Interlocked.Increment(ref _serverErrors);
    }

    private async Task ConverseAsync(DirectLineLoadSettings settings, int index, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        var replyTimeout = settings.ReplyTimeout ?? TimeSpan.FromMinutes(2);
        // 1. A token from the widget route, as the embedded page gets it.
        var watch = Stopwatch.StartNew();
        using var tokenResponse = await http.PostAsJsonAsync($"{Next()}/api/widget/token", new { persona = settings.Persona, locale = "en" }, cancellationToken);
        Count(tokenResponse.StatusCode);
        if (!tokenResponse.IsSuccessStatusCode) return;
        _token.Add(watch.Elapsed.TotalMilliseconds);
        var session = await tokenResponse.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
        var token = (string)session!["token"]!;
        var conversationId = (string)session["conversationId"]!;
        var userId = (string)session["userId"]!;

        // 2. Start the conversation and open its stream.
        watch.Restart();
        using var start = new HttpRequestMessage(HttpMethod.Post, $"{Next()}/v3/directline/conversations");
        start.Headers.Authorization = new("Bearer", token);
        using var started = await http.SendAsync(start, cancellationToken);
        Count(started.StatusCode);
        if (!started.IsSuccessStatusCode) return;
        _start.Add(watch.Elapsed.TotalMilliseconds);
        var streamUrl = (string)(await started.Content.ReadFromJsonAsync<JsonObject>(cancellationToken))!["streamUrl"]!;

        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri(Balanced(streamUrl)), cancellationToken);
        Interlocked.Increment(ref _started);
        var echoes = new ConcurrentDictionary<string, TaskCompletionSource>(StringComparer.Ordinal);
        var answers = new ConcurrentDictionary<string, TaskCompletionSource<JsonObject>>(StringComparer.Ordinal);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reading = ReadStreamAsync(socket, echoes, answers, stop.Token);

        try
        {
            // Every conversation sends at least one message, however long its start took on a loaded machine.
            for (var turn = 1; (turn == 1 || deadline.Elapsed < settings.Duration) && !cancellationToken.IsCancellationRequested; turn++)
            {
                var clientId = $"load-{index}-{turn}";
                var echoed = echoes.GetOrAdd(clientId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
                var activity = new JsonObject
                {
                    ["type"] = "message",
                    ["text"] = $"Question {turn} from conversation {index}: how do I plan my studies?",
                    ["from"] = new JsonObject { ["id"] = userId, ["role"] = "user" },
                    ["locale"] = "en",
                    ["channelData"] = new JsonObject { ["clientActivityID"] = clientId },
                };
                watch.Restart();
                using var post = new HttpRequestMessage(HttpMethod.Post, $"{Next()}/v3/directline/conversations/{conversationId}/activities") { Content = JsonContent.Create(activity) };
                post.Headers.Authorization = new("Bearer", token);
                Interlocked.Increment(ref _sent);
                using var posted = await http.SendAsync(post, cancellationToken);
                Count(posted.StatusCode);
                if (posted.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    Interlocked.Increment(ref _rateLimited);
                    _busy.Add(watch.Elapsed.TotalMilliseconds);
                    await Task.Delay(RetryAfter(posted), cancellationToken);
                    continue;
                }
                if (!posted.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref _errors);
                    continue;
                }
                _post.Add(watch.Elapsed.TotalMilliseconds);
                _acceptedByConversation.AddOrUpdate(conversationId, 1, (_, n) => n + 1);
                var id = (string)(await posted.Content.ReadFromJsonAsync<JsonObject>(cancellationToken))!["id"]!;
                if (await Within(echoed.Task, replyTimeout, cancellationToken))
                    _echo.Add(watch.Elapsed.TotalMilliseconds);

                var answer = answers.GetOrAdd(id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
                if (!await Within(answer.Task, replyTimeout, cancellationToken))
                {
                    Interlocked.Increment(ref _missing);
                    continue;
                }
                var data = answer.Task.Result["channelData"] as JsonObject;
                if (data?[BusyKey] is not null)
                {
                    Interlocked.Increment(ref _busyAnswers);
                    _busyByConversation.AddOrUpdate(conversationId, 1, (_, n) => n + 1);
                    _busy.Add(watch.Elapsed.TotalMilliseconds);
                    await Task.Delay(TimeSpan.FromSeconds((int?)data["retryAfterSeconds"] ?? 1), cancellationToken);
                }
                else if (data?[ErrorKey] is not null)
                {
                    Interlocked.Increment(ref _errors);
                }
                else
                {
                    Interlocked.Increment(ref _replies);
                    _repliesByConversation.AddOrUpdate(conversationId, 1, (_, n) => n + 1);
                    _reply.Add(watch.Elapsed.TotalMilliseconds);
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            try { await reading; } catch (Exception e) when (e is OperationCanceledException or WebSocketException) { }
        }
    }

    private static async Task<bool> Within(Task task, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await task.WaitAsync(timeout, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private static TimeSpan RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);

    /// <summary>Matches echoes by <c>clientActivityID</c> and answers (messages, not typing) by <c>replyToId</c>.</summary>
    private static async Task ReadStreamAsync(
        ClientWebSocket socket, ConcurrentDictionary<string, TaskCompletionSource> echoes,
        ConcurrentDictionary<string, TaskCompletionSource<JsonObject>> answers, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        using var frame = new MemoryStream();
        while (socket.State == WebSocketState.Open)
        {
            var result = await socket.ReceiveAsync(buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close) return;
            frame.Write(buffer, 0, result.Count);
            if (!result.EndOfMessage) continue;
            var length = (int)frame.Length;
            if (length > 0)
            {
                var set = JsonNode.Parse(frame.GetBuffer().AsSpan(0, length));
                foreach (var activity in set?["activities"]?.AsArray() ?? [])
                {
                    if (activity is not JsonObject a || (string?)a["type"] != "message") continue;
                    if ((string?)a["channelData"]?["clientActivityID"] is { } clientId)
                        echoes.GetOrAdd(clientId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                    else if ((string?)a["replyToId"] is { } replyTo)
                        answers.GetOrAdd(replyTo, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(a);
                }
            }
            frame.SetLength(0);
        }
    }
}
