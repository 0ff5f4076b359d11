using System.IdentityModel.Tokens.Jwt;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ChatPlatform.Testing;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;
using Xunit;

namespace ChatPlatform.Server.Tests.Channels.BotFramework;

/// <summary>Authentication on, but the identity provider's OpenID metadata cannot be fetched.</summary>
public sealed class IdentityProviderOutageTests : IAsyncDisposable
{
    private readonly ServerFactory _factory = new();
    private readonly RecordingLoggerProvider _logs = new();
    private readonly WebApplicationFactory<Program> _app;

    public IdentityProviderOutageTests()
    {
        var closed = $"https://127.0.0.1:{ClosedPort()}/.well-known/openid-configuration";
        _factory.Settings["MicrosoftAppId"] = BotFrameworkFixture.AppId;
        _factory.Settings["MicrosoftAppPassword"] = "not-used";
        _factory.Settings["MicrosoftAppType"] = "MultiTenant";
        _factory.Settings["ToBotFromChannelOpenIdMetadataUrl"] = closed;
        _factory.Settings["ToBotFromEmulatorOpenIdMetadataUrl"] = closed;
        _factory.Settings["ToBotFromChannelTokenIssuer"] = TestIdentityProvider.Issuer;
        _app = _factory.WithWebHostBuilder(b => b.ConfigureTestServices(s =>
        {
            s.AddSingleton<IChatClient>(new ScriptedChatClient("never"));
            s.AddSingleton<ILoggerProvider>(_logs);
        }));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _factory.DisposeAsync();
    }

    [Fact]
    public async Task PostActivity_MetadataUnreachable_503WithRetryAfterAndOneLogLineWithoutStack()
    {
        var ct = TestContext.Current.CancellationToken;
        var activity = JsonSerializer.Serialize(new
        {
            type = "message", id = "m1", text = "hello", channelId = "msteams", serviceUrl = "https://smba.example.test/",
            from = new { id = "u1" }, recipient = new { id = "bot" }, conversation = new { id = "outage-1" },
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/messages") { Content = new StringContent(activity, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", SignedToken());

        using var response = await _app.CreateClient().SendAsync(request, ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        var body = await response.Content.ReadAsStringAsync(ct);
        Assert.Contains("identity_provider_unavailable", body, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        var logged = Assert.Single(_logs.Messages, m => m.Contains("identity provider", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain("   at ", logged, StringComparison.Ordinal);
        Assert.DoesNotContain(_logs.Messages, m => m.Contains("unhandled exception", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>A well-formed RS256 channel token; nobody can check it while the metadata is out of reach.</summary>
    private static string SignedToken()
    {
        using var key = RSA.Create(2048);
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = TestIdentityProvider.Issuer,
            Audience = BotFrameworkFixture.AppId,
            Expires = DateTime.UtcNow.AddMinutes(30),
            Claims = new Dictionary<string, object> { ["serviceurl"] = "https://smba.example.test/" },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(key) { KeyId = "k1" }, SecurityAlgorithms.RsaSha256),
        };
        return new JwtSecurityTokenHandler().CreateEncodedJwt(descriptor);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
