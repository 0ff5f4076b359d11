using System.Net;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Safety.Events;
using ChatPlatform.Testing.Http;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace ChatPlatform.Safety.Tests;

/// <summary>Which webhooks the server may reach, against a real server on 127.0.0.1.</summary>
public sealed class WebhookClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly object Notice = new { persona = "mindchat", rail = "crisis" };

    [Fact]
    public async Task PostJsonAsync_LoopbackAllowedInSettings_Delivered()
    {
        await using var server = await TestHttpServer.StartAsync((_, _) => Task.CompletedTask, Ct);
        using var client = new WebhookClient(new WebhookOptions { AllowedHosts = ["127.0.0.1"], AllowPrivateAddresses = true });

        var problem = await client.PostJsonAsync(new Uri(server.BaseUri, "/oncall"), Notice, Ct);

        Assert.Null(problem);
        Assert.Contains("crisis", Assert.Single(server.Requests).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostJsonAsync_NoAllowedHosts_RefusedNamingTheSettingAndNothingReceived()
    {
        await using var server = await TestHttpServer.StartAsync((_, _) => Task.CompletedTask, Ct);
        using var client = new WebhookClient(new WebhookOptions());

        var problem = await client.PostJsonAsync(new Uri(server.BaseUri, "/oncall"), Notice, Ct);

        Assert.NotNull(problem);
        Assert.Contains("'127.0.0.1'", problem, StringComparison.Ordinal);
        Assert.Contains("ChatPlatform:Webhooks:AllowedHosts", problem, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task PostJsonAsync_LoopbackHostListedButPrivateAddressesNotAllowed_RefusedAndNothingReceived()
    {
        await using var server = await TestHttpServer.StartAsync((_, _) => Task.CompletedTask, Ct);
        using var client = new WebhookClient(new WebhookOptions { AllowedHosts = ["127.0.0.1"] });

        var problem = await client.PostJsonAsync(new Uri(server.BaseUri, "/oncall"), Notice, Ct);

        Assert.NotNull(problem);
        Assert.Contains("ChatPlatform:Webhooks:AllowPrivateAddresses", problem, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task PostJsonAsync_NameThatResolvesToLoopback_CheckedAtConnectionAndNothingReceived()
    {
        // "localhost" passes the host list; only the address it resolves to when connecting shows where it leads.
        await using var server = await TestHttpServer.StartAsync((_, _) => Task.CompletedTask, Ct);
        var url = new Uri($"http://localhost:{server.BaseUri.Port}/oncall");
        using var refusing = new WebhookClient(new WebhookOptions { AllowedHosts = ["localhost"] });
        using var allowing = new WebhookClient(new WebhookOptions { AllowedHosts = ["localhost"], AllowPrivateAddresses = true });

        var refused = await refusing.PostJsonAsync(url, Notice, Ct);
        Assert.Empty(server.Requests);
        var delivered = await allowing.PostJsonAsync(url, Notice, Ct);

        Assert.NotNull(refused);
        Assert.Contains("ChatPlatform:Webhooks:AllowPrivateAddresses", refused, StringComparison.Ordinal);
        Assert.Null(delivered);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task PostJsonAsync_Redirect_NotFollowedAndAFailure()
    {
        await using var server = await TestHttpServer.StartAsync((http, request) =>
        {
            if (request.PathAndQuery == "/oncall")
            {
                http.Response.StatusCode = StatusCodes.Status307TemporaryRedirect;
                http.Response.Headers.Location = "/internal-admin";
            }
            return Task.CompletedTask;
        }, Ct);
        using var client = new WebhookClient(new WebhookOptions { AllowedHosts = ["127.0.0.1"], AllowPrivateAddresses = true });

        var problem = await client.PostJsonAsync(new Uri(server.BaseUri, "/oncall"), Notice, Ct);

        Assert.Equal("webhook answered HTTP 307 (redirects are not followed)", problem);
        Assert.Equal("/oncall", Assert.Single(server.Requests).PathAndQuery);
    }

    [Fact]
    public async Task PostJsonAsync_ErrorWithBody_OnlyTheStatusComesBack()
    {
        await using var server = await TestHttpServer.StartAsync(async (http, _) =>
        {
            http.Response.StatusCode = 500;
            await http.Response.WriteAsync("db password is swordfish at 10.0.0.5", http.RequestAborted);
        }, Ct);
        using var client = new WebhookClient(new WebhookOptions { AllowedHosts = ["127.0.0.1"], AllowPrivateAddresses = true });

        var problem = await client.PostJsonAsync(new Uri(server.BaseUri, "/oncall"), Notice, Ct);

        Assert.Equal("webhook answered HTTP 500", problem);
    }

    [Fact]
    public async Task PostJsonAsync_NothingListening_UnreachableWithoutTheExceptionText()
    {
        using var client = new WebhookClient(new WebhookOptions { AllowedHosts = ["127.0.0.1"], AllowPrivateAddresses = true });

        var problem = await client.PostJsonAsync(new Uri("http://127.0.0.1:1/oncall"), Notice, Ct);

        Assert.Equal("webhook unreachable", problem);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("10.1.2.3")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.1.1")]
    [InlineData("100.64.0.1")]
    [InlineData("100.127.255.255")]
    [InlineData("169.254.169.254")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("::")]
    [InlineData("::1")]
    [InlineData("fe80::1")]
    [InlineData("fd12:3456::1")]
    [InlineData("ff02::1")]
    [InlineData("::ffff:10.0.0.1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("64:ff9b::a9fe:a9fe")]
    [InlineData("2002:c0a8:0101::1")]
    public void IsInternal_LoopbackLinkLocalPrivateOrMulticast_True(string address) =>
        Assert.True(WebhookClient.IsInternal(IPAddress.Parse(address)), address);

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("100.128.0.1")]
    [InlineData("172.32.0.1")]
    [InlineData("192.169.0.1")]
    [InlineData("2606:4700::1111")]
    [InlineData("::ffff:8.8.8.8")]
    public void IsInternal_PublicAddress_False(string address) =>
        Assert.False(WebhookClient.IsInternal(IPAddress.Parse(address)), address);
}
