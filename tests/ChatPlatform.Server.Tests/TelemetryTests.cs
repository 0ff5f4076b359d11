using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests;

/// <summary>
/// Metrics and traces of the real server with real inference on the tiny model: what <c>/metrics</c> shows after chat
/// turns, who may read it, and that no span or series carries message text or conversation ids.
/// </summary>
public sealed class TelemetryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static WebApplicationFactory<Program> Start(ServerFactory factory) =>
        factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<IStartupFilter>(new RemoteAddressFilter())));

    private static async Task<HttpResponseMessage> GetAsync(HttpClient client, string path, string from, string? forwardedFor = null, string? traceParent = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add(RemoteAddressFilter.Header, from);
        if (forwardedFor is not null) request.Headers.Add("X-Forwarded-For", forwardedFor);
        if (traceParent is not null) request.Headers.Add("traceparent", traceParent);
        return await client.SendAsync(request, Ct);
    }

    /// <summary>One turn on /api/chat; <paramref name="traceParent"/> puts the server's spans into a trace the test knows.</summary>
    private static async Task ChatAsync(HttpClient client, string persona, string conversationId, string text, string? traceParent = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat")
        {
            Content = JsonContent.Create(new { persona, conversationId, text, locale = "en", userId = "user-" + conversationId }),
        };
        if (traceParent is not null) request.Headers.Add("traceparent", traceParent);
        using var response = await client.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("event: done", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_AfterAChatTurnAndACrisisTurn_ShowsGenAiAndPlatformSeriesByPersona()
    {
        await using var factory = new ServerFactory();
        factory.Settings["ChatPlatform:Telemetry:Prometheus"] = "true";
        await using var app = Start(factory);
        using var client = app.CreateClient();
        var marker = Guid.NewGuid().ToString("N");

        await ChatAsync(client, "gradchat", "metrics-" + marker, $"How should I plan my thesis {marker}?");
        await ChatAsync(client, "mindchat", "crisis-" + marker, "I want to kill myself tonight.");
        using var response = await GetAsync(client, "/metrics", from: "127.0.0.1");
        var body = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var series = body.Split('\n').Where(l => l.Length > 0 && l[0] != '#').ToList();
        Assert.Contains(series, l => l.StartsWith("gen_ai_client_token_usage", StringComparison.Ordinal) && l.Contains("gen_ai_request_model=\"gradchat\"", StringComparison.Ordinal));
        Assert.Contains(series, l => l.StartsWith("gen_ai_client_operation_duration", StringComparison.Ordinal) && l.Contains("gen_ai_request_model=\"gradchat\"", StringComparison.Ordinal));
        Assert.Contains(series, l => l.StartsWith("gen_ai_client_operation_time_to_first_chunk", StringComparison.Ordinal));
        Assert.Contains(series, l => l.StartsWith("chatplatform_replies_total{", StringComparison.Ordinal)
            && l.Contains("chatplatform_persona=\"gradchat\"", StringComparison.Ordinal) && l.Contains("chatplatform_channel=\"web\"", StringComparison.Ordinal));
        Assert.Contains(series, l => l.StartsWith("chatplatform_replies_total{", StringComparison.Ordinal)
            && l.Contains("chatplatform_persona=\"mindchat\"", StringComparison.Ordinal) && l.Contains("chatplatform_finish_reason=\"safety\"", StringComparison.Ordinal));
        Assert.Contains(series, l => l.StartsWith("chatplatform_rail_hits_total{", StringComparison.Ordinal)
            && l.Contains("chatplatform_rail=\"crisis\"", StringComparison.Ordinal) && l.Contains("chatplatform_action=\"crisis\"", StringComparison.Ordinal));
        Assert.Contains(series, l => l.StartsWith("chatplatform_inference_prompt_cache_lookups_total{", StringComparison.Ordinal));
        Assert.Contains(series, l => l.StartsWith("chatplatform_inference_queue_depth", StringComparison.Ordinal));
        Assert.Contains(series, l => l.StartsWith("chatplatform_knowledge_search_duration_seconds_count{", StringComparison.Ordinal)
            && l.Contains("chatplatform_persona=\"gradchat\"", StringComparison.Ordinal));
        Assert.DoesNotContain(marker, body, StringComparison.Ordinal);
        // The console's live figures read the same instruments.
        var live = app.Services.GetRequiredService<Core.Metrics.ChatMetrics>().Snapshot();
        Assert.True(live.Replies >= 1 && live.TimeToFirstTokenP50Ms > 0 && live.TokensPerSecond > 0, live.ToString());
        Assert.Equal((0, 0L), (live.InFlight, live.BusyRejections));
    }

    [Fact]
    public async Task Metrics_FromOutsideThisMachine_403UnlessItsNetworkIsAllowed()
    {
        await using var factory = new ServerFactory();
        factory.Settings["ChatPlatform:Telemetry:Prometheus"] = "true";
        factory.Settings["ChatPlatform:Telemetry:PrometheusNetworks:0"] = "10.0.0.0/8";
        await using var app = Start(factory);
        using var client = app.CreateClient();

        using var stranger = await GetAsync(client, "/metrics", from: "203.0.113.7");
        using var forwarded = await GetAsync(client, "/metrics", from: "127.0.0.1", forwardedFor: "203.0.113.7");
        using var allowed = await GetAsync(client, "/metrics", from: "10.1.2.3");

        Assert.Equal(HttpStatusCode.Forbidden, stranger.StatusCode);
        Assert.Contains("metrics_forbidden", await stranger.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, forwarded.StatusCode);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Contains("# TYPE", await allowed.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_PrometheusNotTurnedOn_NotServed()
    {
        await using var factory = new ServerFactory();
        await using var app = Start(factory);
        using var client = app.CreateClient();

        using var response = await GetAsync(client, "/metrics", from: "127.0.0.1");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public void Startup_BadTelemetrySettings_RefusedNamingTheKeys()
    {
        using var factory = new ServerFactory();
        factory.Settings["ChatPlatform:Telemetry:OtlpEndpoint"] = "collector:4317";
        factory.Settings["ChatPlatform:Telemetry:PrometheusNetworks:0"] = "everyone";

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        var message = error.ToString();
        Assert.Contains("ChatPlatform:Telemetry:OtlpEndpoint", message, StringComparison.Ordinal);
        Assert.Contains("ChatPlatform:Telemetry:PrometheusNetworks:0", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Traces_ChatTurnWithOtlpOn_GenAiSpanNamesThePersonaAndNoSpanHoldsTextOrIds()
    {
        var marker = Guid.NewGuid().ToString("N");
        var text = $"What should a first-year student read {marker}?";
        var conversation = "trace-" + marker;
        var trace = ActivityTraceId.CreateRandom();
        var traceParent = $"00-{trace}-{ActivitySpanId.CreateRandom()}-01";
        const string DirectLineRoute = "/v3/directline/conversations/{conversationId}/activities";
        var spans = new List<Activity>();
        // A request's span ends just after its response has reached the client, so the test waits for both requests' spans.
        using var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> o) => o.TraceId == trace ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.None,
            ActivityStopped = a =>
            {
                if (a.TraceId != trace) return;
                lock (spans) spans.Add(a);
            },
        };
        ActivitySource.AddActivityListener(listener);
        await using var factory = new ServerFactory();
        // A collector nobody listens on: the exporter fails quietly in the background; the spans are what matters.
        factory.Settings["ChatPlatform:Telemetry:OtlpEndpoint"] = "http://127.0.0.1:9";
        await using var app = Start(factory);
        using var client = app.CreateClient();

        await ChatAsync(client, "gradchat", conversation, text, traceParent);
        using var _ = await GetAsync(client, $"/v3/directline/conversations/{conversation}/activities", from: "127.0.0.1", traceParent: traceParent);
        List<Activity> ours;
        var waited = Stopwatch.StartNew();
        while (true)
        {
            lock (spans) ours = [.. spans];
            var routes = ours.Select(a => (string?)a.GetTagItem("http.route")).ToHashSet();
            if ((routes.Contains("/api/chat") && routes.Contains(DirectLineRoute)) || waited.Elapsed > TimeSpan.FromSeconds(30)) break;
            await Task.Delay(20, Ct);
        }
        Assert.Contains(ours, a => (string?)a.GetTagItem("http.route") == "/api/chat");
        var chat = Assert.Single(ours, a => a.Source.Name == Core.Metrics.ChatPlatformMetrics.GenAiSourceName);
        Assert.Equal("gradchat", chat.GetTagItem("gen_ai.request.model"));
        Assert.NotNull(chat.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Null(chat.GetTagItem("gen_ai.input.messages"));
        Assert.Null(chat.GetTagItem("gen_ai.output.messages"));
        var values = ours.SelectMany(a => a.TagObjects.Select(t => $"{t.Key}={t.Value}").Append(a.DisplayName)).ToList();
        Assert.DoesNotContain(values, v => v.Contains(marker, StringComparison.Ordinal));
        Assert.Contains(ours, a => a.GetTagItem("db.system.name") is not null || a.GetTagItem("db.system") is not null);
    }
}
