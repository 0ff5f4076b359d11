using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using ChatPlatform.Safety.Events;
using ChatPlatform.Testing;
using ChatPlatform.Testing.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace ChatPlatform.Safety.Tests;

public sealed class NotifyingSafetyEventSinkTests
{
    /// <summary>The test servers listen on 127.0.0.1, which webhooks may reach only when allowed in so many words.</summary>
    internal static WebhookOptions Loopback => new() { AllowedHosts = ["127.0.0.1"], AllowPrivateAddresses = true };

    private static NotifyingSafetyEventSink Sink(string webhook, WebhookOptions? webhooks = null, ILogger<NotifyingSafetyEventSink>? logger = null)
    {
        var pack = TestPersonas.Create("mindchat") with { Safety = new SafetyPolicy { Crisis = new CrisisProtocol { NotifyWebhook = webhook } } };
        return new NotifyingSafetyEventSink(TestPersonas.Catalog(pack), new SafetyWebhook(new WebhookClient(webhooks ?? Loopback)),
            logger ?? NullLogger<NotifyingSafetyEventSink>.Instance);
    }

    private static SafetyEvent Event(SafetySeverity severity) =>
        new("web", "c-42", "mindchat", "crisis", severity, "Crisis", "I can't go on", DateTimeOffset.UtcNow);

    [Fact]
    public async Task RecordAsync_HighSeverity_NotifiesWebhookWithoutTheMessageText()
    {
        await using var server = await TestHttpServer.StartAsync((_, _) => Task.CompletedTask, TestContext.Current.CancellationToken);
        var sink = Sink(new Uri(server.BaseUri, "/oncall").ToString());

        await sink.RecordAsync(Event(SafetySeverity.High), TestContext.Current.CancellationToken);
        await sink.FlushAsync();

        var request = Assert.Single(server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/oncall", request.PathAndQuery);
        Assert.Contains("c-42", request.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("go on", request.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecordAsync_LowSeverity_NoNotice()
    {
        await using var server = await TestHttpServer.StartAsync((_, _) => Task.CompletedTask, TestContext.Current.CancellationToken);
        var sink = Sink(new Uri(server.BaseUri, "/oncall").ToString());

        await sink.RecordAsync(Event(SafetySeverity.Medium), TestContext.Current.CancellationToken);
        await sink.FlushAsync();

        Assert.Empty(server.Requests);
        Assert.Single(sink.Recent);
    }

    [Fact]
    public async Task RecordAsync_SlowWebhook_ReturnsBeforeTheNoticeIsDelivered()
    {
        var release = new TaskCompletionSource();
        await using var server = await TestHttpServer.StartAsync((_, _) => release.Task, TestContext.Current.CancellationToken);
        var sink = Sink(new Uri(server.BaseUri, "/oncall").ToString());

        await sink.RecordAsync(Event(SafetySeverity.High), TestContext.Current.CancellationToken);
        var pending = sink.FlushAsync();

        Assert.False(pending.IsCompleted);
        release.SetResult();
        await pending;
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task RecordAsync_UnreachableWebhook_IsLoggedNotThrown()
    {
        var sink = Sink("http://127.0.0.1:1/oncall");

        await sink.RecordAsync(Event(SafetySeverity.High), TestContext.Current.CancellationToken);
        await sink.FlushAsync();

        Assert.Single(sink.Recent);
    }

    [Fact]
    public async Task RecordAsync_HostNotAllowed_NothingSentAndOneLogLineWithoutTheUrlsSecrets()
    {
        await using var server = await TestHttpServer.StartAsync((_, _) => Task.CompletedTask, TestContext.Current.CancellationToken);
        var log = new CapturingLogger<NotifyingSafetyEventSink>();
        var webhook = $"http://oncall:hunter2@127.0.0.1:{server.BaseUri.Port}/oncall?token=tok-123";
        var sink = Sink(webhook, new WebhookOptions(), log);

        await sink.RecordAsync(Event(SafetySeverity.High), TestContext.Current.CancellationToken);
        await sink.FlushAsync();

        Assert.Empty(server.Requests);
        var line = Assert.Single(log.Lines, l => l.Contains("webhook", StringComparison.OrdinalIgnoreCase) && !l.Contains("Safety event", StringComparison.Ordinal));
        Assert.Contains("ChatPlatform:Webhooks:AllowedHosts", line, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", line, StringComparison.Ordinal);
        Assert.DoesNotContain("tok-123", line, StringComparison.Ordinal);
    }
}
