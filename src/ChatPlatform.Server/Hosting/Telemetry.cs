using System.Net;
using ChatPlatform.Channels.Http;
using ChatPlatform.Core.Metrics;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ChatPlatform.Server.Hosting;

/// <summary>The <c>ChatPlatform:Telemetry</c> section: where traces and metrics go. Everything is off by default.</summary>
public sealed class TelemetryOptions
{
    public const string SectionName = "ChatPlatform:Telemetry";

    /// <summary>An OpenTelemetry collector (<c>http://collector:4317</c>); traces and metrics are sent there when set.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary><c>grpc</c> (port 4317 by convention) or <c>http/protobuf</c> (port 4318; <c>/v1/traces</c> and <c>/v1/metrics</c> are added).</summary>
    public string OtlpProtocol { get; set; } = Grpc;

    /// <summary>Serves the metrics at <c>/metrics</c> in the Prometheus text format.</summary>
    public bool Prometheus { get; set; }

    /// <summary>Networks besides this machine that may read <c>/metrics</c>, in CIDR form (a Prometheus server's, e.g. <c>10.0.0.0/8</c>).</summary>
    public List<string> PrometheusNetworks { get; set; } = [];

    private const string Grpc = "grpc";
    private const string HttpProtobuf = "http/protobuf";

    public Uri? OtlpUri => string.IsNullOrWhiteSpace(OtlpEndpoint) ? null : new Uri(OtlpEndpoint.TrimEnd('/'));

    public bool OtlpOverHttp => string.Equals(OtlpProtocol, HttpProtobuf, StringComparison.OrdinalIgnoreCase);

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!string.IsNullOrWhiteSpace(OtlpEndpoint)
            && !(Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && string.IsNullOrEmpty(uri.UserInfo)))
            errors.Add($"{SectionName}:OtlpEndpoint must be an http:// or https:// address without credentials, such as http://collector:4317 (got '{OtlpEndpoint}')");
        if (!string.Equals(OtlpProtocol, Grpc, StringComparison.OrdinalIgnoreCase) && !OtlpOverHttp)
            errors.Add($"{SectionName}:OtlpProtocol must be '{Grpc}' or '{HttpProtobuf}' (got '{OtlpProtocol}')");
        for (var i = 0; i < PrometheusNetworks.Count; i++)
            if (!IPNetwork.TryParse(PrometheusNetworks[i], out _))
                errors.Add($"{SectionName}:PrometheusNetworks:{i} must be a network in CIDR form such as 10.0.0.0/8 (got '{PrometheusNetworks[i]}')");
        return errors;
    }

    /// <summary>
    /// Whether a request may read <c>/metrics</c>: it really comes from this machine, or its client address (after the
    /// configured proxies' forwarded headers) is in <see cref="PrometheusNetworks"/>.
    /// </summary>
    public bool MayScrape(HttpContext http)
    {
        if (ClientAddress.IsFromThisMachine(http)) return true;
        if (http.Connection.RemoteIpAddress is not { } ip) return false;
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        _networks ??= [.. PrometheusNetworks.Select(n => IPNetwork.Parse(n))];
        return _networks.Any(n => n.Contains(ip));
    }

    private IPNetwork[]? _networks;
}

/// <summary>
/// OpenTelemetry for the host: the platform's meter and the GenAI instruments and spans of the chat pipeline, ASP.NET
/// Core, HttpClient and EF Core (spans), exported over OTLP and/or served at <c>/metrics</c> as configured; with neither, the SDK is not
/// started (the console dashboard reads the same instruments itself). Spans carry no request paths or query strings
/// (Direct Line paths hold conversation ids) and outgoing calls show only their origin (webhook and reply addresses
/// hold secrets); the GenAI middleware never records message content.
/// </summary>
public static partial class Telemetry
{
    public const string MetricsPath = "/metrics";

    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(TelemetryOptions.SectionName).Get<TelemetryOptions>() ?? new TelemetryOptions();
        if (options.Validate() is { Count: > 0 } errors)
            throw new OptionsValidationException(TelemetryOptions.SectionName, typeof(TelemetryOptions), errors);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<ChatPlatformMetrics>();
        builder.Services.AddSingleton<ChatMetrics>();
        if (options.OtlpUri is null && !options.Prometheus) return builder;

        var telemetry = builder.Services.AddOpenTelemetry();
        // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES still apply; the name below is only the default.
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME")))
            telemetry.ConfigureResource(r => r.AddService("chatplatform"));
        telemetry.WithMetrics(metrics =>
        {
            metrics.AddMeter(ChatPlatformMetrics.MeterName, ChatPlatformMetrics.GenAiSourceName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation();
            if (options.Prometheus) metrics.AddPrometheusExporter();
            if (options.OtlpUri is not null) metrics.AddOtlpExporter(o => Configure(o, options, "v1/metrics"));
        });
        if (options.OtlpUri is not null)
            telemetry.WithTracing(tracing => tracing
                .AddSource(ChatPlatformMetrics.GenAiSourceName)
                .AddAspNetCoreInstrumentation(o =>
                {
                    o.Filter = http => !IsProbeOrScrape(http.Request.Path);
                    o.EnrichWithHttpRequest = (activity, _) => activity.SetTag("url.path", null).SetTag("url.query", null);
                })
                // Statements with their literals replaced by placeholders; parameter values are never captured.
                .AddEntityFrameworkCoreInstrumentation()
                .AddHttpClientInstrumentation(o => o.EnrichWithHttpRequestMessage = (activity, request) =>
                    activity.SetTag("url.full", request.RequestUri is { IsAbsoluteUri: true } uri ? uri.GetLeftPart(UriPartial.Authority) : null))
                .AddOtlpExporter(o => Configure(o, options, "v1/traces")));
        return builder;
    }

    /// <summary>
    /// <c>/metrics</c> when <c>Prometheus</c> is on, answering only this machine and the configured networks (403 for
    /// anyone else); nothing is mapped otherwise.
    /// </summary>
    public static IEndpointRouteBuilder MapMetricsEndpoint(this IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<TelemetryOptions>();
        if (!options.Prometheus) return app;
        app.MapPrometheusScrapingEndpoint(MetricsPath, meterProvider: null, configureBranchedPipeline: branch => branch.Use(async (http, next) =>
        {
            if (options.MayScrape(http))
            {
                await next(http);
                return;
            }
            LogScrapeRefused(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(Telemetry)));
            http.Response.StatusCode = StatusCodes.Status403Forbidden;
            await http.Response.WriteAsJsonAsync(new
            {
                code = "metrics_forbidden",
                message = $"Metrics are served to this machine and to the networks in {TelemetryOptions.SectionName}:PrometheusNetworks only.",
            }, http.RequestAborted);
        }), optionsName: null);
        return app;
    }

    private static bool IsProbeOrScrape(PathString path) =>
        path.StartsWithSegments("/healthz", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments(MetricsPath, StringComparison.OrdinalIgnoreCase);

    private static void Configure(OtlpExporterOptions exporter, TelemetryOptions options, string signalPath)
    {
        var endpoint = options.OtlpUri!;
        exporter.Protocol = options.OtlpOverHttp ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
        // Over HTTP each signal has its own path under the collector's address; gRPC takes the address as it is.
        exporter.Endpoint = options.OtlpOverHttp ? new Uri(endpoint + "/" + signalPath) : endpoint;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a /metrics request from outside this machine and ChatPlatform:Telemetry:PrometheusNetworks")]
    private static partial void LogScrapeRefused(ILogger logger);
}
