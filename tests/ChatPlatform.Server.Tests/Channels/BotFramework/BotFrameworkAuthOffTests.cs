using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using ChatPlatform.Data;
using ChatPlatform.Testing;
using ChatPlatform.Testing.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ChatPlatform.Server.Tests.Channels.BotFramework;

/// <summary>The server with no <c>MicrosoftAppId</c>: local development and the Emulator, served only from this machine.</summary>
public sealed class BotFrameworkAuthOffFixture : IAsyncLifetime
{
    public const string RemoteHeader = RemoteAddressFilter.Header;
    private readonly ServerFactory _factory = new();
    private TestHttpServer _channel = null!;
    private WebApplicationFactory<Program> _app = null!;

    public RecordingLoggerProvider Logs { get; } = new();
    public TestHttpServer Channel => _channel;
    public WebApplicationFactory<Program> App => _app;

    public async ValueTask InitializeAsync()
    {
        _channel = await TestHttpServer.StartAsync(async (http, _) =>
        {
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync("""{"id":"srv-1"}""");
        }, CancellationToken.None);
        _app = _factory.WithWebHostBuilder(b => b.ConfigureTestServices(s =>
        {
            s.AddSingleton<IChatClient>(new ScriptedChatClient("Local ", "answer."));
            s.AddSingleton<ILoggerProvider>(Logs);
            s.AddSingleton<IStartupFilter>(new RemoteAddressFilter());
        }));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _factory.DisposeAsync();
        await _channel.DisposeAsync();
    }

    public async Task<HttpResponseMessage> PostAsync(string conversationId, string remoteAddress, string? serviceUrl = null, string? forwardedFor = null)
    {
        var json = JsonSerializer.Serialize(new
        {
            type = "message",
            id = "m1",
            text = "hello",
            channelId = "emulator",
            serviceUrl = serviceUrl ?? _channel.BaseUri.ToString(),
            from = new { id = "local-user" },
            recipient = new { id = "bot" },
            conversation = new { id = conversationId },
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/messages") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Add(RemoteHeader, remoteAddress);
        if (forwardedFor is not null)
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        return await _app.CreateClient().SendAsync(request, TestContext.Current.CancellationToken);
    }
}

public sealed class BotFrameworkAuthOffTests(BotFrameworkAuthOffFixture fixture) : IClassFixture<BotFrameworkAuthOffFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<HttpResponseMessage> PostAsync(string conversationId, string remoteAddress) => fixture.PostAsync(conversationId, remoteAddress);

    /// <summary>Whether the store holds the Bot Framework conversation with this channel id.</summary>
    private async Task<bool> StoredAsync(string conversationId)
    {
        await using var db = await fixture.App.Services.GetRequiredService<IDbContextFactory<ChatDbContext>>().CreateDbContextAsync(Ct);
        return await db.Conversations.AnyAsync(c => c.ExternalId.EndsWith("|" + conversationId), Ct);
    }

    [Fact]
    public async Task PostActivity_AuthOffFromLoopback_AnsweredWithoutToken()
    {
        var response = await PostAsync("local-1", "127.0.0.1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reply = Assert.Single(fixture.Channel.Requests, r => r.PathAndQuery.StartsWith("/v3/conversations/local-1/activities", StringComparison.Ordinal)
            && r.Body.Contains("\"type\":\"message\"", StringComparison.Ordinal));
        Assert.Contains("Local answer.", reply.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostActivity_AuthOffFromAnotherMachine_401AndNothingStored()
    {
        var response = await PostAsync("remote-1", "203.0.113.9");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("only requests from this machine", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.Channel.Requests, r => r.PathAndQuery.Contains("remote-1", StringComparison.Ordinal));
        Assert.False(await StoredAsync("remote-1"));
    }

    [Fact]
    public async Task PostActivity_AuthOffThroughProxyOnThisMachine_401AndNothingStored()
    {
        // nginx or a sidecar on the same host: the connection is loopback, the caller is not.
        var response = await fixture.PostAsync("proxied-1", "127.0.0.1", forwardedFor: "203.0.113.9");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.DoesNotContain(fixture.Channel.Requests, r => r.PathAndQuery.Contains("proxied-1", StringComparison.Ordinal));
        Assert.False(await StoredAsync("proxied-1"));
    }

    [Fact]
    public async Task PostActivity_AuthOffWithServiceUrlElsewhere_403AndNothingSentOrStored()
    {
        var response = await fixture.PostAsync("elsewhere-1", "127.0.0.1", serviceUrl: "http://203.0.113.5:9/");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("service_url_not_local", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.False(await StoredAsync("elsewhere-1"));
    }

    [Fact]
    public async Task Startup_AuthOff_LoggedOnce()
    {
        await PostAsync("log-1", "127.0.0.1");
        await PostAsync("log-2", "127.0.0.1");

        Assert.Single(fixture.Logs.Messages, m => m.Contains("Bot Framework authentication is off", StringComparison.Ordinal));
    }
}

/// <summary>Keeps every formatted log message at Information and above.</summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<string> Messages { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Recorder(Messages);

    public void Dispose()
    {
    }

    private sealed class Recorder(ConcurrentQueue<string> messages) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            messages.Enqueue(formatter(state, exception));
    }
}
