using System.Net;
using ChatPlatform.Server.Tests.Admin;
using ChatPlatform.Server.Tests.Channels.BotFramework;
using ChatPlatform.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Mvc.Testing.Handlers;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ChatPlatform.Server.Tests;

/// <summary>The server behind a reverse proxy on 127.0.0.1, configured in <c>ChatPlatform:ForwardedHeaders</c>.</summary>
public sealed class ForwardedHeadersFixture : IAsyncLifetime
{
    public const string Proxy = "127.0.0.1";
    private readonly ServerFactory _factory = new();

    public RecordingLoggerProvider Logs { get; } = new();
    public WebApplicationFactory<Program> App { get; private set; } = null!;

    public ValueTask InitializeAsync()
    {
        _factory.Settings["ChatPlatform:ForwardedHeaders:KnownProxies:0"] = Proxy;
        _factory.Settings["ChatPlatform:RateLimit:PermitsPerWindow"] = "2";
        _factory.Settings["ChatPlatform:RateLimit:WindowSeconds"] = "3600";
        App = _factory.WithWebHostBuilder(b => b.ConfigureTestServices(s =>
        {
            s.AddSingleton<IChatClient>(new ScriptedChatClient("Proxied ", "answer."));
            s.AddSingleton<ILoggerProvider>(Logs);
            s.AddSingleton<Microsoft.AspNetCore.Hosting.IStartupFilter>(new RemoteAddressFilter());
        }));
        _ = App.Server;
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await _factory.DisposeAsync();
    }

    /// <summary>A client whose connection comes from <paramref name="connection"/>, forwarding for <paramref name="forwardedFor"/> when given.</summary>
    public HttpClient Client(string connection, string? forwardedFor = null, string? forwardedProto = null, bool cookies = false)
    {
        var headers = new HeaderHandler(connection, forwardedFor, forwardedProto);
        DelegatingHandler[] handlers = cookies ? [headers, new CookieContainerHandler()] : [headers];
        var client = App.CreateDefaultClient(new Uri("http://chat.example.org"), handlers);
        return client;
    }

    private sealed class HeaderHandler(string connection, string? forwardedFor, string? forwardedProto) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Add(RemoteAddressFilter.Header, connection);
            if (forwardedFor is not null) request.Headers.Add("X-Forwarded-For", forwardedFor);
            if (forwardedProto is not null) request.Headers.Add("X-Forwarded-Proto", forwardedProto);
            return base.SendAsync(request, cancellationToken);
        }
    }
}

public sealed class ForwardedHeadersTests(ForwardedHeadersFixture fixture) : IClassFixture<ForwardedHeadersFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task OpenAiApi_ThroughTrustedProxy_TreatedAsTheForwardedClientAndNeedsAKey()
    {
        using var proxied = fixture.Client(ForwardedHeadersFixture.Proxy, forwardedFor: "203.0.113.21");
        using var local = fixture.Client(ForwardedHeadersFixture.Proxy);

        using var throughProxy = await proxied.GetAsync(new Uri("/v1/models", UriKind.Relative), Ct);
        using var fromThisMachine = await local.GetAsync(new Uri("/v1/models", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, throughProxy.StatusCode);
        Assert.Equal(HttpStatusCode.OK, fromThisMachine.StatusCode);
    }

    [Fact]
    public async Task RateLimit_ThroughTrustedProxy_EachForwardedClientHasItsOwnBucket()
    {
        using var first = fixture.Client(ForwardedHeadersFixture.Proxy, forwardedFor: "203.0.113.31");
        using var second = fixture.Client(ForwardedHeadersFixture.Proxy, forwardedFor: "203.0.113.32");

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await first.GetAsync(new Uri("/v1/models", UriKind.Relative), Ct);
            statuses.Add(response.StatusCode);
        }
        using var other = await second.GetAsync(new Uri("/v1/models", UriKind.Relative), Ct);

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, (HttpStatusCode)429], statuses);
        Assert.Equal(HttpStatusCode.Unauthorized, other.StatusCode);
    }

    [Fact]
    public async Task ForwardedFor_FromAnUntrustedAddress_IgnoredForAddressAndLocalAccess()
    {
        // A client elsewhere claims to be this machine, with a different claim on each request.
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var spoofing = fixture.Client("198.51.100.41", forwardedFor: i == 0 ? "127.0.0.1" : $"192.0.2.{i}");
            using var response = await spoofing.GetAsync(new Uri("/v1/models", UriKind.Relative), Ct);
            statuses.Add(response.StatusCode);
        }

        // Never served as local, and one bucket for its real address whatever it forwards.
        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, (HttpStatusCode)429], statuses);
    }

    [Fact]
    public async Task Https_AtTheProxy_HstsAndSecureConsoleCookie()
    {
        var password = await AdminLogin.CreateAccountAsync(fixture.App, "proxied-viewer", "Viewer", Ct);
        using var secure = fixture.Client(ForwardedHeadersFixture.Proxy, forwardedFor: "203.0.113.51", forwardedProto: "https", cookies: true);
        using var spoofed = fixture.Client("198.51.100.52", forwardedProto: "https", cookies: true);

        using var secureSignIn = await AdminLogin.PostAsync(secure, "proxied-viewer", password, Ct);
        using var secureHealth = await secure.GetAsync(new Uri("/healthz", UriKind.Relative), Ct);
        using var spoofedHealth = await spoofed.GetAsync(new Uri("/healthz", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.Redirect, secureSignIn.StatusCode);
        var cookie = Assert.Single(secureSignIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("chatplatform.admin=", StringComparison.Ordinal));
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.True(secureHealth.Headers.Contains("Strict-Transport-Security"));
        Assert.False(spoofedHealth.Headers.Contains("Strict-Transport-Security"));
    }

    [Fact]
    public async Task SignIn_OverPlainHttp_CookieNotSecure()
    {
        var password = await AdminLogin.CreateAccountAsync(fixture.App, "plain-viewer", "Viewer", Ct);
        using var plain = fixture.Client(ForwardedHeadersFixture.Proxy, forwardedFor: "203.0.113.61", cookies: true);

        using var signIn = await AdminLogin.PostAsync(plain, "plain-viewer", password, Ct);

        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        var cookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("chatplatform.admin=", StringComparison.Ordinal));
        Assert.DoesNotContain("secure", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Startup_NamesTheTrustedProxies()
    {
        Assert.Contains(fixture.Logs.Messages, m => m.StartsWith("Forwarded headers:", StringComparison.Ordinal) && m.Contains("127.0.0.1", StringComparison.Ordinal));
    }
}
