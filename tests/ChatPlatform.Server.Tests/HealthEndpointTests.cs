using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using ChatPlatform.Testing.Http;
using Microsoft.AspNetCore.Http;
using Npgsql;
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

    [Fact]
    public async Task Ready_PostgresStoppedThenBack_503NamingTheDatabaseThen200()
    {
        var server = Environment.GetEnvironmentVariable("CHATPLATFORM_TEST_POSTGRES");
        Assert.SkipWhen(server is not { Length: > 0 } || server.Equals("none", StringComparison.OrdinalIgnoreCase),
            "CHATPLATFORM_TEST_POSTGRES is not set: no PostgreSQL server to test against (./test.sh starts one).");
        var shared = new NpgsqlConnectionStringBuilder(server) { Timeout = 120, CommandTimeout = 300 };
        var name = "chatplatform_ready_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteAsync(shared.ConnectionString, $"CREATE DATABASE {name}");
        try
        {
            // The shared server is never stopped: the server under test reaches it through a relay that is cut instead.
            await using var relay = new TcpRelay(shared.Host!, shared.Port);
            var throughRelay = new NpgsqlConnectionStringBuilder(shared.ConnectionString)
            {
                Host = "127.0.0.1", Port = relay.Port, Database = name, Timeout = 10, CommandTimeout = 30,
            };
            await using var factory = new ServerFactory();
            factory.Settings["ChatPlatform:Database:Provider"] = "Postgres";
            factory.Settings["ChatPlatform:Database:ConnectionString"] = throughRelay.ConnectionString;
            factory.Settings["ChatPlatform:DirectLine:TokenSigningKey"] = new string('k', 40);
            using var client = factory.CreateClient();

            var up = await GetAsync(client, "/healthz/ready");
            relay.Cut();
            var down = await GetAsync(client, "/healthz/ready");
            relay.Restore();
            var back = await GetAsync(client, "/healthz/ready");

            Assert.Equal((HttpStatusCode.OK, "ok"), (up.Status, (string?)up.Body["checks"]!["database"]));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, down.Status);
            Assert.Equal(["database"], down.Body["failing"]!.AsArray().Select(n => (string?)n).ToArray());
            Assert.Equal("the database cannot be reached", (string?)down.Body["checks"]!["database"]);
            Assert.Equal("ok", (string?)down.Body["checks"]!["model"]);
            Assert.DoesNotContain("Username", down.Body.ToJsonString(), StringComparison.OrdinalIgnoreCase);
            Assert.Equal((HttpStatusCode.OK, "ok"), (back.Status, (string?)back.Body["checks"]!["database"]));
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(shared.ConnectionString, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        }
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(CancellationToken.None);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
