using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ChatPlatform.Admin.Personas;
using ChatPlatform.Channels.Slack;
using ChatPlatform.Core.ApiKeys;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using ChatPlatform.Data;
using ChatPlatform.Data.Admin;
using ChatPlatform.Data.Personas;
using ChatPlatform.Testing;
using ChatPlatform.Testing.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Xunit;

namespace ChatPlatform.Server.Tests.Nodes;

/// <summary>
/// Two real server processes on one PostgreSQL database, driven the way a round-robin load balancer drives them:
/// a Slack event delivered to both is answered once, a persona version activated through one node is served by the
/// other, and an API key revoked through one node is refused by the other. Each test gets a fresh database.
/// </summary>
public sealed class TwoNodeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SlackEvent_DeliveredToBothNodesAndRetried_AnsweredOnce()
    {
        await using var nodes = await NodePair.StartAsync(Ct);
        var question = Mention("Ev-both-1", "C-both", "1700000100.000100", "<@UBOT> How do I choose a supervisor?");

        // Slack retries an event it thinks was not acknowledged; behind a load balancer the copies reach both nodes.
        var acks = await Task.WhenAll(
            nodes.A.SendAsync(Signed(question), Ct),
            nodes.B.SendAsync(Signed(question), Ct),
            nodes.B.SendAsync(Signed(question, retry: 1), Ct));
        // Each node answers its events in the order it took them: once both have answered a later event, a
        // duplicate either of them had taken would have been posted before it.
        await nodes.A.SendAsync(Signed(Mention("Ev-both-2", "C-both", "1700000100.000200", "<@UBOT> Thanks"), retry: null), Ct);
        await nodes.B.SendAsync(Signed(Mention("Ev-both-3", "C-both", "1700000100.000300", "<@UBOT> One more thing"), retry: null), Ct);
        var posts = await nodes.WaitForSlackPostsAsync(p => p.GetProperty("thread_ts").GetString() is "1700000100.000200" or "1700000100.000300", 2, Ct);

        Assert.All(acks, ack => Assert.Equal(HttpStatusCode.OK, ack.StatusCode));
        var threads = nodes.SlackPosts().Select(p => p.GetProperty("thread_ts").GetString()).ToList();
        Assert.Single(threads, t => t == "1700000100.000100");
        Assert.Equal(3, threads.Count);
        Assert.Equal(2, posts.Count);
        await using var db = await nodes.Store.CreateDbContextAsync(Ct);
        var conversation = await db.Conversations.SingleAsync(c => c.ExternalId == "T1:C-both:1700000100.000100", Ct);
        Assert.Equal(["user", "assistant"], await db.Messages.Where(m => m.ConversationId == conversation.Id).OrderBy(m => m.Sequence).Select(m => m.Role).ToListAsync(Ct));
    }

    [Fact]
    public async Task PersonaVersion_ActivatedAndRolledBackOnA_ServedByBWithoutRestart()
    {
        await using var nodes = await NodePair.StartAsync(Ct);
        var original = await NodePair.GreetingAsync(nodes.B, "gradchat", Ct);
        // Node A's console: the same class its pages call, over node A's data directory and the shared database.
        using var console = new PersonaVersions(nodes.Store, PersonaCatalog.Load(RepoPaths.Personas), new ChatPlatformOptions { DataDirectory = nodes.DataA, PersonasDirectory = RepoPaths.Personas }, TimeProvider.System);
        var live = (await console.HistoryAsync("gradchat", Ct)).Single(v => v.Status == PersonaVersionStatus.Active);
        var draft = await console.GetOrCreateDraftAsync("gradchat", "editor", Ct);
        var files = PackFiles.Parse(draft.Content);
        var form = PersonaForm.From(files);
        form.Greeting["en"] = "Hello from the version activated on node A.";
        await console.SaveDraftAsync("gradchat", form.ApplyTo(files), "editor", Ct);

        Assert.True((await console.ActivateDraftAsync("gradchat", "editor", Ct)).Succeeded);

        await NodePair.WaitForGreetingAsync(nodes.B, "gradchat", "Hello from the version activated on node A.", Ct);
        await NodePair.WaitForGreetingAsync(nodes.A, "gradchat", "Hello from the version activated on node A.", Ct);

        Assert.True((await console.RollbackAsync("gradchat", live.Number, "editor", Ct)).Succeeded);

        await NodePair.WaitForGreetingAsync(nodes.B, "gradchat", original, Ct);
    }

    [Fact]
    public async Task ApiKey_CreatedThenRevokedOnB_AcceptedThenRefusedOnAAtOnce()
    {
        await using var nodes = await NodePair.StartAsync(Ct);
        // Node B's console and the apikey command go through this class over the shared database.
        var keysOnB = new ApiKeys(new EfApiKeyStore(nodes.Store), TimeProvider.System);
        var key = await keysOnB.CreateAsync("two-node-client", "operator-on-b", Ct);
        // Another client keeps a key, so the API stays closed to keyless requests (this machine's included).
        await keysOnB.CreateAsync("other-client", "operator-on-b", Ct);

        var acceptedOnA = await ModelsAsync(nodes.A, key);
        var acceptedOnB = await ModelsAsync(nodes.B, key);
        Assert.True(await keysOnB.RevokeAsync("two-node-client", "operator-on-b", Ct));
        // No node keeps keys in memory: the very next request on A already sees the revocation.
        var refusedOnA = await ModelsAsync(nodes.A, key);
        var refusedOnB = await ModelsAsync(nodes.B, key);

        Assert.Equal(HttpStatusCode.OK, acceptedOnA);
        Assert.Equal(HttpStatusCode.OK, acceptedOnB);
        Assert.Equal(HttpStatusCode.Unauthorized, refusedOnA);
        Assert.Equal(HttpStatusCode.Unauthorized, refusedOnB);
    }

    private static async Task<HttpStatusCode> ModelsAsync(HttpClient node, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await node.SendAsync(request, Ct);
        return response.StatusCode;
    }

    private static HttpRequestMessage Signed(string body, int? retry = null)
    {
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/slack/events") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
        request.Headers.Add("X-Slack-Signature", SlackSignature.Compute(NodePair.SlackSecret, timestamp, Encoding.UTF8.GetBytes(body)));
        if (retry is { } n)
        {
            request.Headers.Add("X-Slack-Retry-Num", n.ToString(CultureInfo.InvariantCulture));
            request.Headers.Add("X-Slack-Retry-Reason", "http_timeout");
        }
        return request;
    }

    private static string Mention(string eventId, string channel, string ts, string text) => JsonSerializer.Serialize(new
    {
        type = "event_callback",
        team_id = "T1",
        event_id = eventId,
        @event = new { type = "app_mention", user = "U123", text, channel, ts, thread_ts = ts },
    });
}

/// <summary>
/// <see cref="TwoNodes"/> with one stub OpenAI-compatible inference server (persona as model) and one stub Slack Web
/// API shared by both nodes, and the store as node A's console sees it. Skipped where no PostgreSQL server is configured.
/// </summary>
internal sealed class NodePair : IAsyncDisposable
{
    public const string SlackSecret = "two-node-slack-secret";

    private TwoNodes? _nodes;
    private TestHttpServer? _inference;

    public HttpClient A => _nodes!.A;
    public HttpClient B => _nodes!.B;
    public string DataA => _nodes!.DataA;
    public TestHttpServer SlackApi { get; private set; } = null!;
    public ChatDbContextFactory Store { get; private set; } = null!;
    public string ConnectionString { get; private set; } = null!;

    public static async Task<NodePair> StartAsync(CancellationToken cancellationToken)
    {
        var pair = new NodePair();
        try
        {
            await pair.StartCoreAsync(cancellationToken);
            return pair;
        }
        catch
        {
            await pair.DisposeAsync();
            throw;
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        _inference = await TestHttpServer.StartAsync(async (http, _) =>
        {
            if (HttpMethods.IsPost(http.Request.Method))
                await OpenAiResponses.WriteReplyAsync(http, "Take it one step at a time.");
            else
                await http.Response.WriteAsJsonAsync(new { data = new[] { new { id = "gradchat" } } }, http.RequestAborted);
        }, cancellationToken);
        SlackApi = await TestHttpServer.StartAsync(async (http, _) =>
        {
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync("""{"ok":true}""", http.RequestAborted);
        }, cancellationToken);

        _nodes = await TwoNodes.StartAsync(cancellationToken, new Dictionary<string, string>
        {
            ["ChatPlatform__Model__Backend"] = "remote",
            ["ChatPlatform__Remote__BaseUrl"] = new Uri(_inference.BaseUri, "v1").ToString(),
            ["ChatPlatform__Remote__UsePersonaAsModel"] = "true",
            ["ChatPlatform__Slack__SigningSecret"] = SlackSecret,
            ["ChatPlatform__Slack__BotToken"] = "xoxb-two-node",
            ["ChatPlatform__Slack__ApiBaseUrl"] = new Uri(SlackApi.BaseUri, "api/").ToString(),
            ["ChatPlatform__PersonaRefreshSeconds"] = "1",
        });
        ConnectionString = new NpgsqlConnectionStringBuilder(_nodes.ConnectionString) { MaxPoolSize = 8 }.ConnectionString;
        Store = new ChatDbContextFactory(new DatabaseOptions { Provider = DatabaseOptions.Postgres, ConnectionString = ConnectionString }, DataA);
    }

    /// <summary>Every <c>chat.postMessage</c> either node sent to Slack so far.</summary>
    public IReadOnlyList<JsonElement> SlackPosts() =>
        [.. SlackApi.Requests.Where(r => r.PathAndQuery == "/api/chat.postMessage").Select(r => JsonDocument.Parse(r.Body).RootElement.Clone())];

    public async Task<IReadOnlyList<JsonElement>> WaitForSlackPostsAsync(Func<JsonElement, bool> match, int count, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var posts = SlackPosts().Where(match).ToList();
            if (posts.Count >= count) return posts;
            Assert.True(DateTime.UtcNow < deadline, $"{posts.Count} of {count} Slack replies within 60 s");
            await Task.Delay(100, cancellationToken);
        }
    }

    public static async Task<string> GreetingAsync(HttpClient node, string persona, CancellationToken cancellationToken)
    {
        using var doc = JsonDocument.Parse(await node.GetStringAsync(new Uri("/api/personas", UriKind.Relative), cancellationToken));
        return doc.RootElement.EnumerateArray().First(p => p.GetProperty("id").GetString() == persona)
            .GetProperty("greeting").GetProperty("en").GetString()!;
    }

    /// <summary>Waits, within a few refresh intervals, until the node greets with <paramref name="expected"/>.</summary>
    public static async Task WaitForGreetingAsync(HttpClient node, string persona, string expected, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var greeting = await GreetingAsync(node, persona, cancellationToken);
            if (greeting == expected) return;
            Assert.True(DateTime.UtcNow < deadline, $"{node.BaseAddress} still greets with \"{greeting}\" 20 s after the change");
            await Task.Delay(100, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_nodes is not null) await _nodes.DisposeAsync();
        if (_inference is not null) await _inference.DisposeAsync();
        if (SlackApi is not null) await SlackApi.DisposeAsync();
    }
}
