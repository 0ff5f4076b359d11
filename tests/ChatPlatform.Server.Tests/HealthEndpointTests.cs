using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using ChatPlatform.Testing.Http;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace ChatPlatform.Server.Tests;

/// <summary>Liveness and readiness as a load balancer or an orchestrator's probes see them.</summary>
public sealed class HealthEndpointTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(HttpStatusCode Status, JsonObject Body)> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative), Ct);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!.AsObject());
    }

    [Fact]
    public async Task Ready_LocalModelAndDatabase_200WithEveryCheckOk()
    {
        await using var factory = new ServerFactory();
        using var client = factory.CreateClient();

        var live = await GetAsync(client, "/healthz/live");
        var ready = await GetAsync(client, "/healthz/ready");
        var plain = await GetAsync(client, "/healthz");

        Assert.Equal(HttpStatusCode.OK, live.Status);
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Equal(HttpStatusCode.OK, plain.Status);
        Assert.Equal("ok", (string?)ready.Body["checks"]!["database"]);
        Assert.Equal("ok", (string?)ready.Body["checks"]!["model"]);
        Assert.Empty(ready.Body["failing"]!.AsArray());
    }

    [Fact]
    public async Task Ready_RemoteInferenceServerDown_503NamingItWhileLiveStays200()
    {
        await using var factory = new ServerFactory();
        factory.Settings["ChatPlatform:Model:Backend"] = "remote";
        factory.Settings["ChatPlatform:Remote:Model"] = "qwen";
        factory.Settings["ChatPlatform:Remote:BaseUrl"] = $"http://user:hunter2@127.0.0.1:{ClosedPort()}/v1";
        using var client = factory.CreateClient();

        var live = await GetAsync(client, "/healthz/live");
        var ready = await GetAsync(client, "/healthz/ready");

        Assert.Equal(HttpStatusCode.OK, live.Status);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.Status);
        Assert.Equal("unavailable", (string?)ready.Body["status"]);
        Assert.Equal(["inference"], ready.Body["failing"]!.AsArray().Select(n => (string?)n).ToArray());
        Assert.Equal("the inference server is unreachable", (string?)ready.Body["checks"]!["inference"]);
        Assert.DoesNotContain("hunter2", ready.Body.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ready_RemoteInferenceServerAnswering_200()
    {
        await using var upstream = await TestHttpServer.StartAsync(async (http, _) =>
        {
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync("""{"object":"list","data":[]}""");
        }, Ct);
        await using var factory = new ServerFactory();
        factory.Settings["ChatPlatform:Model:Backend"] = "remote";
        factory.Settings["ChatPlatform:Remote:Model"] = "qwen";
        factory.Settings["ChatPlatform:Remote:BaseUrl"] = new Uri(upstream.BaseUri, "v1").ToString();
        using var client = factory.CreateClient();

        var ready = await GetAsync(client, "/healthz/ready");

        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Contains(upstream.Requests, r => r.PathAndQuery == "/v1/models");
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
