using System.Net;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Privacy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;

namespace ChatPlatform.Inference.Remote;

/// <summary>
/// The HTTP side of the remote backend, one definition for the server, the safety judge and the command line: the
/// connection handler and the <c>Microsoft.Extensions.Http.Resilience</c> pipeline that retries connection failures,
/// HTTP 5xx and 429 (honouring <c>Retry-After</c>) and bounds each attempt by <see cref="RemoteOptions.TimeoutSeconds"/>.
/// The pipeline acts on the response headers only, so a reply that has started streaming is never sent again.
/// </summary>
public static partial class RemoteHttp
{
    /// <summary>A server asking to wait longer than this is not retried; the caller is told it is busy.</summary>
    public static readonly TimeSpan MaxRetryWait = TimeSpan.FromSeconds(10);

    /// <summary>First retry delay; each next one doubles, with jitter.</summary>
    public static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Registers a named <see cref="HttpClient"/> for <paramref name="options"/>: pooled connections renewed every five
    /// minutes (to follow DNS changes) behind the resilience pipeline.
    /// </summary>
    public static IHttpClientBuilder AddRemoteHttpClient(this IServiceCollection services, string name, RemoteOptions options)
    {
        var builder = services.AddHttpClient(name, http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => PrimaryHandler(options));
        builder.AddResilienceHandler(name, (pipeline, context) =>
            ConfigurePipeline(pipeline, options, context.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger<RemoteChatClient>()));
        return builder;
    }

    /// <summary>An <see cref="HttpClient"/> with the same handler and pipeline, for use without a host (the command line).</summary>
    public static HttpClient CreateClient(RemoteOptions options, ILogger? logger = null)
    {
        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage>();
        ConfigurePipeline(pipeline, options, logger ?? NullLogger.Instance);
        return new HttpClient(new ResilienceHandler(pipeline.Build()) { InnerHandler = PrimaryHandler(options) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    internal static SocketsHttpHandler PrimaryHandler(RemoteOptions options) => new()
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(options.TimeoutSeconds),
    };

    /// <summary>Retries (outer) around a per-attempt timeout (inner).</summary>
    public static void ConfigurePipeline(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, RemoteOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(options);
        var shown = UrlMasking.Apply(RemoteChatClient.CompletionsUri(options.BaseUrl));
        if (options.MaxRetries > 0)
        {
            pipeline.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                Delay = FirstRetryDelay,
                UseJitter = true,
                ShouldRetryAfterHeader = true,
                ShouldHandle = args => ValueTask.FromResult(IsRetryable(args.Outcome)),
                OnRetry = args =>
                {
                    LogRetry(logger, shown, Describe(args.Outcome), args.RetryDelay.TotalMilliseconds, args.AttemptNumber + 1, options.MaxRetries);
                    return ValueTask.CompletedTask;
                },
            });
        }
        pipeline.AddTimeout(TimeSpan.FromSeconds(options.TimeoutSeconds));
    }

    /// <summary>
    /// Connection failures, HTTP 5xx and 429 are worth another attempt, unless the server asks for a longer wait than
    /// <see cref="MaxRetryWait"/>. A timed-out attempt is not retried: the server is there but slow, and the user waited already.
    /// </summary>
    internal static bool IsRetryable(Outcome<HttpResponseMessage> outcome)
    {
        if (outcome.Exception is not null) return outcome.Exception is HttpRequestException;
        if (outcome.Result is not { } response) return false;
        var status = (int)response.StatusCode;
        if (status < 500 && response.StatusCode != HttpStatusCode.TooManyRequests) return false;
        return RetryAfter(response.Headers.RetryAfter) is not { } wait || wait <= MaxRetryWait;
    }

    internal static TimeSpan? RetryAfter(System.Net.Http.Headers.RetryConditionHeaderValue? header)
    {
        if (header?.Delta is { } delta) return delta;
        if (header?.Date is { } date) return date > DateTimeOffset.UtcNow ? date - DateTimeOffset.UtcNow : TimeSpan.Zero;
        return null;
    }

    private static string Describe(Outcome<HttpResponseMessage> outcome) =>
        outcome.Result is { } response ? $"HTTP {(int)response.StatusCode}" : outcome.Exception?.GetType().Name ?? "a failure";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Inference server {Endpoint} failed with {Failure}; retrying in {DelayMs:0} ms (retry {Retry} of {MaxRetries})")]
    private static partial void LogRetry(ILogger logger, string endpoint, string failure, double delayMs, int retry, int maxRetries);
}
