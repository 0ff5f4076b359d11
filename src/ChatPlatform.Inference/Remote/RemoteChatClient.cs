using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Privacy;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using OpenAI;
using OpenAI.Chat;
using Polly.Timeout;
using ChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace ChatPlatform.Inference.Remote;

/// <summary>
/// <see cref="IChatClient"/> over an OpenAI-compatible <c>/chat/completions</c> endpoint: llama.cpp's server, vLLM
/// (with one LoRA module per persona when <see cref="RemoteOptions.UsePersonaAsModel"/> is set) or another
/// ChatPlatform node. Requests go through the <c>OpenAI</c> SDK and <c>Microsoft.Extensions.AI.OpenAI</c>'s
/// <see cref="IChatClient"/>; retries and attempt timeouts are the <see cref="HttpClient"/>'s resilience pipeline
/// (<see cref="RemoteHttp"/>), so they end once a reply starts. This class picks the model and turns failures into the
/// platform's own: before the reply starts a <see cref="ChatRejectedException"/> (busy for 429/503, otherwise
/// <see cref="ChatErrorKind.Upstream"/> with an <c>upstream_*</c> code and a plain sentence for the user, while the
/// exception's message and the log name the server, credentials masked, the HTTP status and the server's own message);
/// after it a <see cref="RemoteInferenceException"/>, or an <see cref="OperationCanceledException"/> caused by a
/// <see cref="TimeoutException"/> when the server stops sending.
/// </summary>
public sealed partial class RemoteChatClient : IChatClient
{
    /// <summary>Name of the <see cref="HttpClient"/> (with the resilience pipeline) the host registers for this client.</summary>
    public const string HttpClientName = "ChatPlatform.Remote";

    /// <summary>Name of the plain <see cref="HttpClient"/> the readiness probe uses: one try, no retries.</summary>
    public const string ProbeHttpClientName = "ChatPlatform.Remote.Probe";

    private static readonly TimeSpan DefaultBusyRetryAfter = TimeSpan.FromSeconds(2);

    private readonly RemoteOptions _options;
    private readonly ILogger<RemoteChatClient> _logger;
    private readonly OpenAIClient _openAi;
    private readonly ConcurrentDictionary<string, IChatClient> _models = new(StringComparer.Ordinal);
    private readonly HttpClient? _ownedHttp;
    private readonly string _shownEndpoint;
    private readonly TimeSpan _timeout;
    private readonly ChatClientMetadata _metadata;

    /// <summary>A client over <paramref name="http"/>, which should carry <see cref="RemoteHttp"/>'s pipeline (see <see cref="RemoteHttp.AddRemoteHttpClient"/>).</summary>
    public RemoteChatClient(HttpClient http, RemoteOptions options, ILogger<RemoteChatClient> logger)
        : this(http, options, logger, ownsHttp: false)
    {
    }

    /// <summary>A client with its own <see cref="HttpClient"/> from <see cref="RemoteHttp.CreateClient"/>, disposed with it.</summary>
    public RemoteChatClient(RemoteOptions options, ILogger<RemoteChatClient> logger)
        : this(RemoteHttp.CreateClient(options, logger), options, logger, ownsHttp: true)
    {
    }

    private RemoteChatClient(HttpClient http, RemoteOptions options, ILogger<RemoteChatClient> logger, bool ownsHttp)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = logger;
        _ownedHttp = ownsHttp ? http : null;
        var completions = CompletionsUri(options.BaseUrl);
        _shownEndpoint = UrlMasking.Apply(completions);
        _timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);
        _metadata = new ChatClientMetadata("chatplatform-remote", new Uri(completions.GetLeftPart(UriPartial.Authority)), options.Model);

        var sdkOptions = new OpenAIClientOptions
        {
            Endpoint = ApiRoot(completions),
            Transport = new HttpClientPipelineTransport(http),
            // Retries belong to the HttpClient's pipeline, which knows the platform's rules; the SDK's own would repeat them.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            // The SDK's timeout spans all attempts, so it is the longest they can take together; each attempt has the
            // pipeline's own timeout, and each streamed piece after the first this client's.
            NetworkTimeout = AttemptsBudget(options),
        };
        if (string.IsNullOrEmpty(options.ApiKey))
            sdkOptions.AddPolicy(NoCredentialPolicy.Instance, PipelinePosition.BeforeTransport);
        _openAi = new OpenAIClient(new ApiKeyCredential(string.IsNullOrEmpty(options.ApiKey) ? "-" : options.ApiKey), sdkOptions);
    }

    /// <summary>Every attempt timing out and every retry waiting as long as allowed.</summary>
    internal static TimeSpan AttemptsBudget(RemoteOptions options) =>
        TimeSpan.FromSeconds(options.TimeoutSeconds) * (options.MaxRetries + 1) + RemoteHttp.MaxRetryWait * options.MaxRetries;

    /// <summary>The chat completions URL: <c>BaseUrl/chat/completions</c>; a bare host gets <c>/v1</c> first.</summary>
    public static Uri CompletionsUri(string? baseUrl)
    {
        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"ChatPlatform:Remote:BaseUrl must be an absolute http:// or https:// URL (got '{baseUrl}').", nameof(baseUrl));
        var path = uri.AbsolutePath.TrimEnd('/');
        if (path.Length == 0) path = "/v1";
        return new UriBuilder(uri) { Path = path + "/chat/completions" }.Uri;
    }

    /// <summary>The API root the SDK appends <c>/chat/completions</c> (and <c>/models</c>) to.</summary>
    internal static Uri ApiRoot(Uri completions)
    {
        var path = completions.AbsolutePath;
        return new UriBuilder(completions) { Path = path[..^"/chat/completions".Length] }.Uri;
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (client, model) = ClientFor(options);
        try
        {
            return await client.GetResponseAsync(messages, ToSent(options), cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && Rejection(e, model, streaming: false) is { } rejected)
        {
            throw rejected;
        }
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (client, model) = ClientFor(options);
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var updates = client.GetStreamingResponseAsync(messages, ToSent(options), idle.Token).GetAsyncEnumerator(idle.Token);
        try
        {
            var started = false;
            while (true)
            {
                // Before the reply starts, the pipeline's attempt timeout and the SDK's network timeout apply; after it,
                // each next piece must come within the timeout too.
                if (started) idle.CancelAfter(_timeout);
                ChatResponseUpdate? update;
                try
                {
                    update = await updates.MoveNextAsync() ? updates.Current : null;
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    if (started) throw MidReply(e, stalled: idle.IsCancellationRequested);
                    throw Rejection(e, model, streaming: true) ?? throw new InvalidOperationException("Unclassified remote failure.", e);
                }
                if (update is null) yield break;
                if (update.Contents.Count == 0 && update.FinishReason is null)
                {
                    if (ErrorEvent(update) is { } said)
                    {
                        if (started) throw MidReply(new RemoteInferenceException($"The inference server {_shownEndpoint} failed mid-reply: {said}"), stalled: false);
                        var failed = Rejected("upstream_error", $"The inference server {_shownEndpoint} failed: {said}");
                        LogFailed(_shownEndpoint, model, failed.Error.Code, failed.Message);
                        throw failed;
                    }
                    continue;
                }
                started = true;
                yield return update;
            }
        }
        finally
        {
            await updates.DisposeAsync();
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
        foreach (var client in _models.Values) client.Dispose();
        // A shared HttpClient belongs to IHttpClientFactory (or the caller).
        _ownedHttp?.Dispose();
    }

    /// <summary>The persona's model when <see cref="RemoteOptions.UsePersonaAsModel"/> applies, else the configured one; one SDK client per model.</summary>
    private (IChatClient Client, string Model) ClientFor(ChatOptions? options)
    {
        var persona = options?.AdditionalProperties?.TryGetValue(PersonaChatOptions.PersonaKey, out var p) == true ? p as string : null;
        var model = _options.UsePersonaAsModel && !string.IsNullOrEmpty(persona) ? persona : _options.Model ?? "";
        return (_models.GetOrAdd(model, m => _openAi.GetChatClient(m).AsIChatClient()), model);
    }

    /// <summary>
    /// What goes to the server: the sampling settings, without the platform's own properties. The reply limit goes as
    /// <c>max_tokens</c>, which llama.cpp's server, vLLM and older OpenAI-compatible servers all read, rather than the
    /// SDK's <c>max_completion_tokens</c>.
    /// </summary>
    private static ChatOptions? ToSent(ChatOptions? options)
    {
        if (options is null) return null;
        var sent = options.Clone();
        sent.AdditionalProperties = null;
        sent.ModelId = null;
        if (sent.MaxOutputTokens is { } maxTokens)
        {
            sent.MaxOutputTokens = null;
            var inner = sent.RawRepresentationFactory;
            sent.RawRepresentationFactory = client =>
            {
                var raw = inner?.Invoke(client) as ChatCompletionOptions ?? new ChatCompletionOptions();
#pragma warning disable SCME0001 // JsonPatch: the supported way to send a field the SDK names differently.
                raw.Patch.Set("$.max_tokens"u8, maxTokens);
#pragma warning restore SCME0001
                return raw;
            };
        }
        return sent;
    }

    /// <summary>
    /// The server's message when a streamed event is an error (<c>{"error": …}</c>, as llama.cpp's server sends when a
    /// reply fails under way) rather than a chunk. The SDK keeps such a field but does not act on it: this is read back
    /// from the event as it arrived.
    /// </summary>
    private static string? ErrorEvent(ChatResponseUpdate update)
    {
        if (update.RawRepresentation is not StreamingChatCompletionUpdate raw) return null;
        var json = ModelReaderWriter.Write(raw).ToString();
        using var document = JsonDocument.Parse(json);
        return document.RootElement.TryGetProperty("error", out _) ? ErrorText(json) : null;
    }

    /// <summary>
    /// The platform's refusal for a failure before the reply started, logged; null for a failure this client does not
    /// explain (it then propagates as it is).
    /// </summary>
    private ChatRejectedException? Rejection(Exception e, string model, bool streaming)
    {
        var rejection = Classify(e, model, streaming);
        if (rejection is not null) LogFailed(_shownEndpoint, model, rejection.Error.Code, rejection.Message);
        return rejection;
    }

    private ChatRejectedException? Classify(Exception e, string model, bool streaming)
    {
        if (e is ClientResultException { Status: > 0 } status && status.GetRawResponse() is { } response)
            return StatusFailure(response, model);
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case TimeoutRejectedException or OperationCanceledException or TimeoutException:
                    return Rejected("upstream_timeout",
                        $"The inference server {_shownEndpoint} did not answer within {_options.TimeoutSeconds} s (ChatPlatform:Remote:TimeoutSeconds).");
                case HttpRequestException or IOException:
                    return Unreachable(inner.Message);
                case JsonException json:
                    return Invalid(streaming ? $"a streamed chunk is not valid JSON ({json.Message})" : $"invalid JSON ({json.Message})");
            }
        }
        return e is FormatException or InvalidOperationException or KeyNotFoundException or ArgumentException
            ? Invalid(e.Message)
            : null;
    }

    private ChatRejectedException StatusFailure(PipelineResponse response, string model)
    {
        var status = response.Status;
        var detail = ErrorText(BodyText(response));
        var said = detail.Length > 0 ? $": {detail}" : "";
        if (status is (int)HttpStatusCode.TooManyRequests or (int)HttpStatusCode.ServiceUnavailable)
        {
            var retryAfter = RetryAfter(response);
            return ChatRejectedException.Busy(BusyMessage, retryAfter ?? DefaultBusyRetryAfter,
                $"The inference server {_shownEndpoint} is busy (HTTP {status}{said}).");
        }
        if (status >= 500)
            return Rejected("upstream_error", $"The inference server {_shownEndpoint} failed (HTTP {status}){said}.");
        if (status is (int)HttpStatusCode.Unauthorized or (int)HttpStatusCode.Forbidden)
            return Rejected("upstream_auth",
                $"The inference server {_shownEndpoint} refused the credentials (HTTP {status}){said}. Check ChatPlatform:Remote:ApiKey.");
        if (status == (int)HttpStatusCode.NotFound)
            return Rejected("upstream_not_found",
                $"The inference server {_shownEndpoint} answered HTTP 404 for model '{model}'{said}. Check ChatPlatform:Remote:BaseUrl (usually ending in /v1) and " +
                (_options.UsePersonaAsModel
                    ? "that the server serves a model or LoRA module named after each persona (ChatPlatform:Remote:UsePersonaAsModel is on)."
                    : "ChatPlatform:Remote:Model."));
        if (status == (int)HttpStatusCode.BadRequest && IsContextOverflow(detail))
            return new ChatRejectedException(new ChatError(ChatErrorKind.TooLarge, ChatOrchestrator.ContextOverflowCode,
                    "The conversation does not fit the model's context window. Please send a shorter message."),
                detail: $"The inference server {_shownEndpoint} found the prompt longer than the model's context (HTTP 400){said}.");
        return Rejected("upstream_rejected", $"The inference server {_shownEndpoint} rejected the request (HTTP {status}){said}.");
    }

    /// <summary>
    /// Whether a 400's message says the prompt does not fit the context window, as llama.cpp's server ("exceeds the
    /// available context size") and vLLM ("maximum context length") put it. The orchestrator then sends fewer
    /// knowledge passages, as it does for the local core.
    /// </summary>
    internal static bool IsContextOverflow(string detail) =>
        detail.Contains("context size", StringComparison.OrdinalIgnoreCase)
        || detail.Contains("context length", StringComparison.OrdinalIgnoreCase)
        || detail.Contains("context window", StringComparison.OrdinalIgnoreCase);

    private static string BodyText(PipelineResponse response)
    {
        try
        {
            return response.Content.ToString();
        }
        catch (InvalidOperationException)
        {
            // The body was not buffered (a streamed error): the status alone has to do.
            return "";
        }
    }

    private static TimeSpan? RetryAfter(PipelineResponse response)
    {
        if (!response.Headers.TryGetValue("Retry-After", out var value) || string.IsNullOrWhiteSpace(value)) return null;
        return System.Net.Http.Headers.RetryConditionHeaderValue.TryParse(value, out var header) ? RemoteHttp.RetryAfter(header) : null;
    }

    /// <summary>A failure after the reply started: the text so far stands, and the caller is told how it ended.</summary>
    private Exception MidReply(Exception e, bool stalled)
    {
        if (stalled || e is OperationCanceledException || e.InnerException is TimeoutException)
        {
            var message = $"The inference server {_shownEndpoint} sent nothing for {_options.TimeoutSeconds} s mid-reply (ChatPlatform:Remote:TimeoutSeconds).";
            LogFailedMidReply(_shownEndpoint, message);
            return new OperationCanceledException(message, new TimeoutException());
        }
        var failure = e switch
        {
            JsonException or FormatException => new RemoteInferenceException(
                $"The inference server {_shownEndpoint} failed mid-reply: a streamed chunk is not an OpenAI chat completion chunk ({e.Message})", e),
            RemoteInferenceException remote => remote,
            ClientResultException { Status: > 0 } status => new RemoteInferenceException(
                $"The inference server {_shownEndpoint} failed mid-reply (HTTP {status.Status}).", e),
            _ => new RemoteInferenceException($"The connection to the inference server {_shownEndpoint} broke mid-reply: {e.Message}", e),
        };
        LogFailedMidReply(_shownEndpoint, failure.Message);
        return failure;
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Inference server {Endpoint} (model {Model}) failed with {Code}: {Detail}")]
    private partial void LogFailed(string endpoint, string model, string code, string detail);

    [LoggerMessage(Level = LogLevel.Error, Message = "Inference server {Endpoint} failed mid-reply: {Detail}")]
    private partial void LogFailedMidReply(string endpoint, string detail);

    /// <summary>Sends no <c>Authorization</c> header when no key is configured (the SDK always has a credential).</summary>
    private sealed class NoCredentialPolicy : PipelinePolicy
    {
        public static readonly NoCredentialPolicy Instance = new();

        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Remove("Authorization");
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Remove("Authorization");
            return ProcessNextAsync(message, pipeline, currentIndex);
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
