using System.Net;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Privacy;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Inference.Remote;

/// <summary>
/// <see cref="IChatClient"/> over an OpenAI-compatible <c>/chat/completions</c> endpoint: llama.cpp's server, vLLM
/// (with one LoRA module per persona when <see cref="RemoteOptions.UsePersonaAsModel"/> is set) or another
/// ChatPlatform node. Connection failures, HTTP 5xx and 429 are retried with backoff until the reply starts, never
/// after. Failures before the reply starts are <see cref="ChatRejectedException"/>s (busy for 429/503, otherwise
/// <see cref="ChatErrorKind.Upstream"/>): their <see cref="ChatRejectedException.Error"/> carries only a code and a plain
/// sentence for the user, while the exception's message and the log name the server (credentials masked), the HTTP
/// status and the server's own message. A failure mid-reply is a <see cref="RemoteInferenceException"/>, and a server
/// that stops sending mid-reply ends it with an <see cref="OperationCanceledException"/> caused by a <see cref="TimeoutException"/>.
/// </summary>
public sealed partial class RemoteChatClient : IChatClient
{
    /// <summary>Name of the <see cref="HttpClient"/> the host registers for this client.</summary>
    public const string HttpClientName = "ChatPlatform.Remote";

    /// <summary>A server asking to wait longer than this is not retried; the caller is told it is busy.</summary>
    internal static readonly TimeSpan MaxRetryWait = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan DefaultBusyRetryAfter = TimeSpan.FromSeconds(2);

    private readonly HttpClient _http;
    private readonly RemoteOptions _options;
    private readonly ILogger<RemoteChatClient> _logger;
    private readonly Uri _endpoint;
    private readonly string _shownEndpoint;
    private readonly TimeSpan _timeout;
    private readonly ChatClientMetadata _metadata;

    public RemoteChatClient(HttpClient http, RemoteOptions options, ILogger<RemoteChatClient> logger)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _options = options;
        _logger = logger;
        _endpoint = CompletionsUri(options.BaseUrl);
        _shownEndpoint = UrlMasking.Apply(_endpoint);
        _timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);
        _metadata = new ChatClientMetadata("chatplatform-remote", new Uri(_endpoint.GetLeftPart(UriPartial.Scheme) + _endpoint.Authority), options.Model);
    }

    /// <summary>The chat completions URL: <c>BaseUrl/chat/completions</c>; a bare host gets <c>/v1</c> first.</summary>
    public static Uri CompletionsUri(string? baseUrl)
    {
        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"ChatPlatform:Remote:BaseUrl must be an absolute http:// or https:// URL (got '{baseUrl}').", nameof(baseUrl));
        var path = uri.AbsolutePath.TrimEnd('/');
        if (path.Length == 0) path = "/v1";
        return new UriBuilder(uri) { Path = path + "/chat/completions" }.Uri;
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (body, model) = CreateBody(messages, options, stream: false);
        return await RetryAsync(model, async attemptToken =>
        {
            using var response = await SendAsync(body, model, attemptToken);
            string text;
            try
            {
                text = await response.Content.ReadAsStringAsync(attemptToken);
            }
            catch (HttpRequestException e)
            {
                throw new AttemptFailure(transient: true, Unreachable(e.Message));
            }
            catch (IOException e)
            {
                throw new AttemptFailure(transient: true, Unreachable(e.Message));
            }
            return ParseCompletion(text);
        }, cancellationToken);
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (body, model) = CreateBody(messages, options, stream: true);

        // Until the first piece of the reply arrives, any transient failure is retried from scratch.
        var stream = await RetryAsync(model, async attemptToken =>
        {
            var opened = new ReplyStream(this, await SendAsync(body, model, attemptToken), cancellationToken);
            try
            {
                var first = await opened.ReadAsync(beforeOutput: true);
                return (opened, first);
            }
            catch
            {
                await opened.DisposeAsync();
                throw;
            }
        }, cancellationToken);

        await using var reply = stream.opened;
        if (stream.first is null) yield break;
        yield return stream.first;
        while (await reply.ReadAsync(beforeOutput: false) is { } update)
            yield return update;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
        // The HttpClient belongs to IHttpClientFactory (or the caller).
    }

    private (JsonObject Body, string Model) CreateBody(IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream)
    {
        var persona = options?.AdditionalProperties?.TryGetValue(PersonaChatOptions.PersonaKey, out var p) == true ? p as string : null;
        var model = _options.UsePersonaAsModel && !string.IsNullOrEmpty(persona) ? persona : _options.Model ?? "";

        var list = new JsonArray();
        foreach (var message in messages)
            list.Add(new JsonObject { ["role"] = message.Role.Value, ["content"] = message.Text });

        var body = new JsonObject { ["model"] = model, ["messages"] = list, ["stream"] = stream };
        if (stream) body["stream_options"] = new JsonObject { ["include_usage"] = true };
        if (options?.Temperature is { } temperature) body["temperature"] = temperature;
        if (options?.TopP is { } topP) body["top_p"] = topP;
        if (options?.MaxOutputTokens is { } maxTokens) body["max_tokens"] = maxTokens;
        if (options?.Seed is { } seed) body["seed"] = seed;
        if (options?.StopSequences is { Count: > 0 } stops) body["stop"] = new JsonArray([.. stops.Select(s => JsonValue.Create(s))]);
        return (body, model);
    }

    /// <summary>Sends one attempt and returns a successful response; anything else becomes an <see cref="AttemptFailure"/>.</summary>
    private async Task<HttpResponseMessage> SendAsync(JsonObject body, string model, CancellationToken attemptToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (!string.IsNullOrEmpty(_options.ApiKey))
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _options.ApiKey);
        request.Headers.Accept.ParseAdd(body["stream"]?.GetValue<bool>() == true ? "text/event-stream" : "application/json");

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attemptToken);
        }
        catch (HttpRequestException e)
        {
            throw new AttemptFailure(transient: true, Unreachable(e.Message));
        }
        if (response.IsSuccessStatusCode) return response;

        using (response)
        {
            string text;
            try
            {
                text = await response.Content.ReadAsStringAsync(attemptToken);
            }
            catch (HttpRequestException)
            {
                text = "";
            }
            catch (IOException)
            {
                text = "";
            }
            throw StatusFailure(response, ErrorText(text), model);
        }
    }

    private AttemptFailure StatusFailure(HttpResponseMessage response, string detail, string model)
    {
        var status = (int)response.StatusCode;
        var said = detail.Length > 0 ? $": {detail}" : "";
        if (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable)
        {
            var retryAfter = RetryAfter(response);
            var busy = ChatRejectedException.Busy(BusyMessage, retryAfter ?? DefaultBusyRetryAfter,
                $"The inference server {_shownEndpoint} is busy (HTTP {status}{said}).");
            return new AttemptFailure(transient: true, busy, retryAfter);
        }
        if (status >= 500)
            return new AttemptFailure(transient: true, Rejected("upstream_error", $"The inference server {_shownEndpoint} failed (HTTP {status}){said}."));
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            return new AttemptFailure(transient: false, Rejected("upstream_auth",
                $"The inference server {_shownEndpoint} refused the credentials (HTTP {status}){said}. Check ChatPlatform:Remote:ApiKey."));
        if (response.StatusCode == HttpStatusCode.NotFound)
            return new AttemptFailure(transient: false, Rejected("upstream_not_found",
                $"The inference server {_shownEndpoint} answered HTTP 404 for model '{model}'{said}. Check ChatPlatform:Remote:BaseUrl (usually ending in /v1) and " +
                (_options.UsePersonaAsModel
                    ? "that the server serves a model or LoRA module named after each persona (ChatPlatform:Remote:UsePersonaAsModel is on)."
                    : "ChatPlatform:Remote:Model.")));
        return new AttemptFailure(transient: false, Rejected("upstream_rejected",
            $"The inference server {_shownEndpoint} rejected the request (HTTP {status}){said}."));
    }

    /// <summary>
    /// Runs attempts, each under its own timeout, until one succeeds. Transient failures are retried with
    /// exponential backoff (or the server's <c>Retry-After</c>, when short) up to <see cref="RemoteOptions.MaxRetries"/> times.
    /// </summary>
    private async Task<T> RetryAsync<T>(string model, Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        for (var number = 0; ; number++)
        {
            AttemptFailure failure;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(_timeout);
                try
                {
                    return await attempt(timeout.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    var timedOut = Rejected("upstream_timeout",
                        $"The inference server {_shownEndpoint} did not answer within {_options.TimeoutSeconds} s (ChatPlatform:Remote:TimeoutSeconds).");
                    LogFailed(_shownEndpoint, model, timedOut.Error.Code, timedOut.Message);
                    throw timedOut;
                }
                catch (AttemptFailure f)
                {
                    failure = f;
                }
            }

            var wait = failure.RetryAfter ?? Backoff(number);
            if (!failure.Transient || number >= _options.MaxRetries || wait > MaxRetryWait)
            {
                LogFailed(_shownEndpoint, model, failure.Rejection.Error.Code, failure.Rejection.Message);
                throw failure.Rejection;
            }
            LogRetry(_shownEndpoint, model, failure.Rejection.Error.Code, wait.TotalMilliseconds, number + 1, _options.MaxRetries);
            await Task.Delay(wait, cancellationToken);
        }
    }

    /// <summary>Logs a failure that ends a reply already under way, and returns it to be thrown.</summary>
    private RemoteInferenceException MidReply(RemoteInferenceException failure)
    {
        LogFailedMidReply(_shownEndpoint, failure.Message);
        return failure;
    }

    private static TimeSpan Backoff(int number) =>
        TimeSpan.FromMilliseconds(200 * Math.Pow(2, number) * (1 + Random.Shared.NextDouble() * 0.25));

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta) return delta;
        if (header?.Date is { } date) return date > DateTimeOffset.UtcNow ? date - DateTimeOffset.UtcNow : TimeSpan.Zero;
        return null;
    }

    private ChatRejectedException Unreachable(string reason) =>
        Rejected("upstream_unreachable", $"The inference server {_shownEndpoint} cannot be reached: {reason}");

    /// <summary>What a user is told when the server is busy: never which server, nor what it said.</summary>
    internal const string BusyMessage = "The inference server is busy. Please try again shortly.";

    /// <summary>
    /// A refusal whose <see cref="ChatRejectedException.Error"/> carries <paramref name="code"/> and a plain sentence for the
    /// user, and whose message is the operator's <paramref name="detail"/> (the server, masked, and what it answered).
    /// </summary>
    private static ChatRejectedException Rejected(string code, string detail) =>
        new(new ChatError(ChatErrorKind.Upstream, code, PublicMessage(code)), detail: detail);

    /// <summary>The sentence users see for each failure code: no address, no credentials, nothing the server said.</summary>
    internal static string PublicMessage(string code) => code switch
    {
        "upstream_unreachable" => "The inference server is unavailable. Try again later.",
        "upstream_timeout" => "The inference server did not answer in time. Try again later.",
        "upstream_auth" => "The inference server refused this service's credentials. Check ChatPlatform:Remote:ApiKey.",
        "upstream_not_found" => "The inference server does not serve the model for this persona. Check ChatPlatform:Remote:BaseUrl and the model name.",
        "upstream_rejected" => "The inference server rejected the request.",
        "upstream_invalid_response" => "The inference server sent a response that could not be read. Try again later.",
        _ => "The inference server failed. Try again later.",
    };

    private ChatRejectedException Invalid(string what) =>
        Rejected("upstream_invalid_response", $"The inference server {_shownEndpoint} sent a response that is not an OpenAI chat completion: {what}");

    /// <summary>The server's own error message from an OpenAI-style error body, else the start of the body.</summary>
    internal static string ErrorText(string body)
    {
        if (string.IsNullOrWhiteSpace(body)) return "";
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                if (root.TryGetProperty("error", out var error))
                {
                    if (error.ValueKind == JsonValueKind.String) return error.GetString()!;
                    if (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String) return m.GetString()!;
                }
                if (root.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String) return message.GetString()!;
                if (root.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String) return detail.GetString()!;
            }
        }
        catch (JsonException)
        {
            // Not JSON: show the text itself.
        }
        var oneLine = body.ReplaceLineEndings(" ").Trim();
        return oneLine.Length > 200 ? oneLine[..200] + "…" : oneLine;
    }

    private ChatResponse ParseCompletion(string text)
    {
        try
        {
            using var json = JsonDocument.Parse(text);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new AttemptFailure(false, Invalid("the body is not a JSON object"));
            if (root.TryGetProperty("error", out _)) throw new AttemptFailure(false, Rejected("upstream_error", $"The inference server {_shownEndpoint} failed: {ErrorText(text)}"));
            if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
                throw new AttemptFailure(false, Invalid("it has no 'choices'"));
            var choice = choices[0];
            if (!choice.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object)
                throw new AttemptFailure(false, Invalid("choices[0] has no 'message'"));
            var content = message.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "";
            return new ChatResponse(new ChatMessage(ChatRole.Assistant, content))
            {
                ResponseId = StringProperty(root, "id"),
                ModelId = StringProperty(root, "model"),
                CreatedAt = Created(root),
                FinishReason = FinishReason(choice),
                Usage = Usage(root),
            };
        }
        catch (JsonException e)
        {
            throw new AttemptFailure(false, Invalid($"invalid JSON ({e.Message})"));
        }
    }

    /// <summary>Turns one SSE chunk into an update; null for chunks that carry nothing (a role-only delta).</summary>
    private ChatResponseUpdate? ParseChunk(string data)
    {
        using var json = JsonDocument.Parse(data);
        var root = json.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new FormatException("a chunk is not a JSON object");
        if (root.TryGetProperty("error", out _)) throw new RemoteInferenceException($"The inference server {_shownEndpoint} failed mid-reply: {ErrorText(data)}");

        var update = new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            ResponseId = StringProperty(root, "id"),
            ModelId = StringProperty(root, "model"),
            CreatedAt = Created(root),
        };
        var hasChoices = root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array;
        if (hasChoices && choices.GetArrayLength() > 0)
        {
            var choice = choices[0];
            if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object
                && delta.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String
                && content.GetString() is { Length: > 0 } text)
                update.Contents.Add(new TextContent(text));
            update.FinishReason = FinishReason(choice);
        }
        if (Usage(root) is { } usage)
            update.Contents.Add(new UsageContent(usage));
        else if (!hasChoices)
            throw new FormatException("a chunk has neither 'choices' nor 'usage'");
        return update.Contents.Count > 0 || update.FinishReason is not null ? update : null;
    }

    private static string? StringProperty(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static DateTimeOffset? Created(JsonElement root) =>
        root.TryGetProperty("created", out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;

    private static ChatFinishReason? FinishReason(JsonElement choice) =>
        choice.TryGetProperty("finish_reason", out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString() switch
            {
                "stop" => ChatFinishReason.Stop,
                "length" => ChatFinishReason.Length,
                "content_filter" => ChatFinishReason.ContentFilter,
                "tool_calls" => ChatFinishReason.ToolCalls,
                { } other => new ChatFinishReason(other),
                null => null,
            }
            : null;

    private static UsageDetails? Usage(JsonElement root)
    {
        if (!root.TryGetProperty("usage", out var usage) || usage.ValueKind != JsonValueKind.Object) return null;
        long? Count(string name) => usage.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;
        return new UsageDetails
        {
            InputTokenCount = Count("prompt_tokens"),
            OutputTokenCount = Count("completion_tokens"),
            TotalTokenCount = Count("total_tokens"),
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Inference server {Endpoint} (model {Model}) failed with {Code}; retrying in {DelayMs:0} ms (retry {Retry} of {MaxRetries})")]
    private partial void LogRetry(string endpoint, string model, string code, double delayMs, int retry, int maxRetries);

    [LoggerMessage(Level = LogLevel.Error, Message = "Inference server {Endpoint} (model {Model}) failed with {Code}: {Detail}")]
    private partial void LogFailed(string endpoint, string model, string code, string detail);

    [LoggerMessage(Level = LogLevel.Error, Message = "Inference server {Endpoint} failed mid-reply: {Detail}")]
    private partial void LogFailedMidReply(string endpoint, string detail);

    /// <summary>One failed attempt: whether another may help, and what the caller is told when none is left.</summary>
    private sealed class AttemptFailure(bool transient, ChatRejectedException rejection, TimeSpan? retryAfter = null) : Exception(rejection.Message)
    {
        public bool Transient { get; } = transient;
        public ChatRejectedException Rejection { get; } = rejection;
        public TimeSpan? RetryAfter { get; } = retryAfter;
    }

    /// <summary>The server-sent events of one streamed reply, each read within the idle timeout.</summary>
    private sealed class ReplyStream : IAsyncDisposable
    {
        private readonly RemoteChatClient _client;
        private readonly HttpResponseMessage _response;
        private readonly CancellationToken _cancellationToken;
        private readonly CancellationTokenSource _idle;
        private IAsyncEnumerator<SseItem<string>>? _events;
        private bool _done;

        public ReplyStream(RemoteChatClient client, HttpResponseMessage response, CancellationToken cancellationToken)
        {
            _client = client;
            _response = response;
            _cancellationToken = cancellationToken;
            _idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        }

        /// <summary>
        /// The next update with content, or null at the end. Before any output, failures are
        /// <see cref="AttemptFailure"/>s (so the attempt can be retried); after it, they end the reply.
        /// </summary>
        public async Task<ChatResponseUpdate?> ReadAsync(bool beforeOutput)
        {
            while (!_done)
            {
                _idle.CancelAfter(_client._timeout);
                string data;
                try
                {
                    _events ??= SseParser.Create(await _response.Content.ReadAsStreamAsync(_idle.Token)).EnumerateAsync(_idle.Token).GetAsyncEnumerator(_idle.Token);
                    if (!await _events.MoveNextAsync())
                    {
                        _done = true;
                        break;
                    }
                    data = _events.Current.Data;
                }
                catch (OperationCanceledException) when (!_cancellationToken.IsCancellationRequested)
                {
                    if (beforeOutput) throw;
                    var stalled = $"The inference server {_client._shownEndpoint} sent nothing for {_client._options.TimeoutSeconds} s mid-reply (ChatPlatform:Remote:TimeoutSeconds).";
                    _client.LogFailedMidReply(_client._shownEndpoint, stalled);
                    throw new OperationCanceledException(stalled, new TimeoutException());
                }
                catch (Exception e) when (e is HttpRequestException or IOException)
                {
                    if (beforeOutput) throw new AttemptFailure(transient: true, _client.Unreachable(e.Message));
                    throw _client.MidReply(new RemoteInferenceException($"The connection to the inference server {_client._shownEndpoint} broke mid-reply: {e.Message}", e));
                }

                if (data.Trim() == "[DONE]")
                {
                    _done = true;
                    break;
                }
                try
                {
                    if (_client.ParseChunk(data) is { } update) return update;
                }
                catch (Exception e) when (e is JsonException or FormatException)
                {
                    var what = e is JsonException ? $"a streamed chunk is not valid JSON ({e.Message})" : e.Message;
                    if (beforeOutput) throw new AttemptFailure(transient: false, _client.Invalid(what));
                    throw _client.MidReply(new RemoteInferenceException(_client.Invalid(what).Message, e));
                }
                catch (RemoteInferenceException e) when (!beforeOutput)
                {
                    throw _client.MidReply(e);
                }
                catch (RemoteInferenceException e) when (beforeOutput)
                {
                    throw new AttemptFailure(transient: false, Rejected("upstream_error", e.Message));
                }
            }
            return null;
        }

        public async ValueTask DisposeAsync()
        {
            if (_events is not null) await _events.DisposeAsync();
            _idle.Dispose();
            _response.Dispose();
        }
    }
}

/// <summary>
/// A remote inference server failed after the reply had started; the text streamed so far stands. An
/// <see cref="IOException"/>, so callers that keep partial replies (the orchestrator) treat it as a broken connection.
/// </summary>
public sealed class RemoteInferenceException : IOException
{
    public RemoteInferenceException(string message) : base(message) { }

    public RemoteInferenceException(string message, Exception innerException) : base(message, innerException) { }

    public RemoteInferenceException() { }
}
