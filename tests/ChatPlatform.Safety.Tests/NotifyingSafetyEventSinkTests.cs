using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using ChatPlatform.Safety.Events;
using ChatPlatform.Testing;
using ChatPlatform.Testing.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace ChatPlatform.Safety.Tests;

public sealed class NotifyingSafetyEventSinkTests
{
    private static NotifyingSafetyEventSink Sink(string webhook)
    {
        var pack = TestPersonas.Create("mindchat") with { Safety = new SafetyPolicy { Crisis = new CrisisProtocol { NotifyWebhook = webhook } } };
        var clients = new ServiceCollection().AddHttpClient().BuildServiceProvider().GetRequiredService<IHttpClientFactory>();
        return new NotifyingSafetyEventSink(TestPersonas.Catalog(pack), clients, NullLogger<NotifyingSafetyEventSink>.Instance);
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
}
