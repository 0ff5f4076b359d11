using Xunit;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using ChatPlatform.Channels.Slack;
using ChatPlatform.Testing;
using ChatPlatform.Testing.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.AI;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPlatform.Server.Tests.Channels;

/// <summary>The server with Slack configured against a fake Slack Web API on 127.0.0.1.</summary>
public sealed class SlackFixture : IAsyncLifetime
{
    public const string Secret = "test-signing-secret";
    public const string BotToken = "xoxb-test-token";

    public TestHttpServer SlackApi { get; private set; } = null!;
    public ServerFactory Factory { get; } = new();

    public async ValueTask InitializeAsync()
    {
        SlackApi = await TestHttpServer.StartAsync(async (http, _) =>
        {
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync("""{"ok":true}""");
        }, CancellationToken.None);
        Factory.Settings["ChatPlatform:Slack:SigningSecret"] = Secret;
        Factory.Settings["ChatPlatform:Slack:BotToken"] = BotToken;
        Factory.Settings["ChatPlatform:Slack:ApiBaseUrl"] = new Uri(SlackApi.BaseUri, "api/").ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await Factory.DisposeAsync();
        await SlackApi.DisposeAsync();
    }
}

public sealed class SlackEventsTests(SlackFixture fixture) : IClassFixture<SlackFixture>
{
    [Fact]
    public void Compute_ProtocolTestVector_MatchesTheKnownSignature()
    {
        var signature = SlackSignature.Compute("foobar", "1604586653", Encoding.UTF8.GetBytes("""{"foo": "bar"}"""));

        Assert.Equal("v0=80a3bd62ce5af04d8d80781134f165df185b90342d467abf5c74a27d2d0dd1f5", signature);
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(300, true)]
    [InlineData(301, false)]
    [InlineData(-301, false)]
    public void Check_ProtocolTestVectorAtAge_AcceptedOnlyWithinTheWindow(int ageSeconds, bool accepted)
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(1604586653 + ageSeconds);

        var problem = SlackSignature.Check("foobar", "1604586653",
            "v0=80a3bd62ce5af04d8d80781134f165df185b90342d467abf5c74a27d2d0dd1f5", Encoding.UTF8.GetBytes("""{"foo": "bar"}"""), now);

        Assert.Equal(accepted, problem is null);
    }

    private static HttpRequestMessage Signed(string body, long? timestamp = null, string? secret = null, int? retry = null)
    {
        var ts = (timestamp ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds()).ToString(CultureInfo.InvariantCulture);
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/slack/events") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Slack-Request-Timestamp", ts);
        request.Headers.Add("X-Slack-Signature", SlackSignature.Compute(secret ?? SlackFixture.Secret, ts, Encoding.UTF8.GetBytes(body)));
        if (retry is { } n)
        {
            request.Headers.Add("X-Slack-Retry-Num", n.ToString(CultureInfo.InvariantCulture));
            request.Headers.Add("X-Slack-Retry-Reason", "http_timeout");
        }
        return request;
    }

    private static string Mention(string eventId, string channel, string ts, string text, string? threadTs = null, string team = "T1") => JsonSerializer.Serialize(new
    {
        type = "event_callback",
        team_id = team,
        event_id = eventId,
        @event = new { type = "app_mention", user = "U123", text, channel, ts, thread_ts = threadTs ?? ts },
    });

    private async Task<List<JsonElement>> WaitForPostsAsync(string channel, int count)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            var posts = fixture.SlackApi.Requests
                .Select(r => JsonDocument.Parse(r.Body).RootElement.Clone())
                .Where(p => p.GetProperty("channel").GetString() == channel)
                .ToList();
            if (posts.Count >= count || DateTime.UtcNow > deadline)
                return posts;
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task PostEvent_BadSignature_Gets401()
    {
        var response = await fixture.Factory.CreateClient().SendAsync(Signed(Mention("Ev-bad", "C-bad", "1.1", "hi"), secret: "wrong"), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task PostEvent_StaleTimestamp_Gets401()
    {
        var stale = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 301;

        var response = await fixture.Factory.CreateClient().SendAsync(Signed(Mention("Ev-stale", "C-stale", "1.1", "hi"), timestamp: stale), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task PostEvent_UrlVerification_EchoesTheChallenge()
    {
        var response = await fixture.Factory.CreateClient().SendAsync(Signed("""{"type":"url_verification","challenge":"abc123"}"""), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        Assert.Equal("abc123", body.GetProperty("challenge").GetString());
    }

    [Fact]
    public async Task PostEvent_RetriedEvent_AnsweredOnceInTheThreadWithTheBotToken()
    {
        var http = fixture.Factory.CreateClient();
        var first = Mention("Ev-1", "C-retry", "1700000000.000100", "<@UBOT> How should I prepare for graduate school?");

        var ack = await http.SendAsync(Signed(first), TestContext.Current.CancellationToken);
        var retry = await http.SendAsync(Signed(first, retry: 1), TestContext.Current.CancellationToken);
        // A later, different event is answered after the duplicate would have been, so waiting for it proves the duplicate was dropped.
        await http.SendAsync(Signed(Mention("Ev-2", "C-retry", "1700000000.000200", "<@UBOT> Thanks")), TestContext.Current.CancellationToken);
        var posts = await WaitForPostsAsync("C-retry", 2);

        Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(2, posts.Count);
        Assert.Equal(["1700000000.000100", "1700000000.000200"], posts.Select(p => p.GetProperty("thread_ts").GetString()).Order(StringComparer.Ordinal));
        Assert.All(posts, p => Assert.False(string.IsNullOrWhiteSpace(p.GetProperty("text").GetString())));
        var requests = fixture.SlackApi.Requests.Where(r => r.Body.Contains("C-retry", StringComparison.Ordinal)).ToList();
        Assert.All(requests, r => Assert.Equal("/api/chat.postMessage", r.PathAndQuery));
        Assert.All(requests, r => Assert.Equal("Bearer " + SlackFixture.BotToken, r.Header("Authorization")));
        Assert.Equal("How should I prepare for graduate school?", StoredUserText("T1:C-retry:1700000000.000100"));
    }

    [Fact]
    public async Task PostEvent_TeamBoundInTheConsole_AnsweredByTheBoundPersona()
    {
        var http = fixture.Factory.CreateClient();
        await fixture.Factory.Services.GetRequiredService<ChatPlatform.Data.Channels.ChannelBindings>()
            .AddAsync("slack", "T-bound", "mindchat", "en", "test", TestContext.Current.CancellationToken);

        await http.SendAsync(Signed(Mention("Ev-bound", "C-bound", "1700000001.000100", "<@UBOT> I had a long day", team: "T-bound")), TestContext.Current.CancellationToken);
        await WaitForPostsAsync("C-bound", 1);

        using var connection = new SqliteConnection($"Data Source={Path.Combine(fixture.Factory.DataDirectory, "chatplatform.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT PersonaId FROM conversations WHERE ExternalId = 'T-bound:C-bound:1700000001.000100'";
        Assert.Equal("mindchat", (string?)command.ExecuteScalar());
    }

    [Fact]
    public async Task PostEvent_QueueFull_503SoSlackRetriesAndTheRetryIsNotTakenForARepeat()
    {
        var ct = TestContext.Current.CancellationToken;
        // A model that never finishes: the node answers nothing, and the events pile up in its queue.
        var stuck = new ScriptedChatClient("never") { ChunkDelay = TimeSpan.FromHours(1) };
        await using var node = fixture.Factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<IChatClient>(stuck)));
        var http = node.CreateClient();

        HttpResponseMessage? refused = null;
        string? refusedEvent = null;
        for (var i = 0; i < SlackResponder.QueueCapacity + 2 && refused is null; i++)
        {
            var id = $"Ev-full-{i}";
            var response = await http.SendAsync(Signed(Mention(id, "C-full", $"1700000002.{i:D6}", "<@UBOT> How do I plan my week?")), ct);
            if (response.StatusCode == HttpStatusCode.OK) { response.Dispose(); continue; }
            (refused, refusedEvent) = (response, id);
        }
        Assert.NotNull(refused);
        using (refused)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.Contains("busy", await refused.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        }
        // Slack's retry of the refused event is refused again while the queue is full, not dropped as seen before.
        var index = int.Parse(refusedEvent!["Ev-full-".Length..], CultureInfo.InvariantCulture);
        using var retry = await http.SendAsync(Signed(Mention(refusedEvent, "C-full", $"1700000002.{index:D6}", "<@UBOT> How do I plan my week?"), retry: 1), ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, retry.StatusCode);
    }

    /// <summary>The user message stored for a Slack conversation: what the persona was asked, mentions stripped.</summary>
    private string StoredUserText(string conversationId)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(fixture.Factory.DataDirectory, "chatplatform.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT m.Text FROM messages m JOIN conversations c ON c.Id = m.ConversationId WHERE c.ExternalId = $id AND m.Role = 'user'";
        command.Parameters.AddWithValue("$id", conversationId);
        return (string)command.ExecuteScalar()!;
    }

    [Fact]
    public async Task PostEvent_BotMessageThenPersonaCommand_OnlyTheCommandIsAnswered()
    {
        var http = fixture.Factory.CreateClient();
        var fromBot = JsonSerializer.Serialize(new
        {
            type = "event_callback", team_id = "T1", event_id = "Ev-bot",
            @event = new { type = "message", channel_type = "im", bot_id = "B1", text = "I am a bot", channel = "D-bot", ts = "5.1" },
        });
        var command = JsonSerializer.Serialize(new
        {
            type = "event_callback", team_id = "T1", event_id = "Ev-cmd",
            @event = new { type = "message", channel_type = "im", user = "U9", text = "/persona no-such-persona", channel = "D-bot", ts = "5.2" },
        });

        await http.SendAsync(Signed(fromBot), TestContext.Current.CancellationToken);
        await http.SendAsync(Signed(command), TestContext.Current.CancellationToken);
        var posts = await WaitForPostsAsync("D-bot", 1);

        var post = Assert.Single(posts);
        Assert.Equal("5.2", post.GetProperty("thread_ts").GetString());
        Assert.Contains("Unknown persona 'no-such-persona'", post.GetProperty("text").GetString(), StringComparison.Ordinal);
    }
}
