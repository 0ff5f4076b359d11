using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using ChatPlatform.Channels.DirectLine;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Knowledge;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests.Channels;

/// <summary>The server with a Direct Line secret, a known signing key, a small per-conversation limit and one allowed origin.</summary>
public sealed class DirectLineFixture : IAsyncLifetime
{
    public const string Secret = "test-directline-secret-0123456789";
    public const string SigningKey = "test-signing-key-0123456789-0123456789";
    public const string Origin = "https://www.example.edu";

    public ServerFactory Factory { get; } = new();

    public ValueTask InitializeAsync()
    {
        Factory.Settings["ChatPlatform:DirectLine:Secrets:0"] = Secret;
        Factory.Settings["ChatPlatform:DirectLine:TokenSigningKey"] = SigningKey;
        Factory.Settings["ChatPlatform:DirectLine:AllowedOrigins:0"] = Origin;
        Factory.Settings["ChatPlatform:DirectLine:MessagesPerMinute"] = "4";
        Factory.Settings["ChatPlatform:DirectLine:StreamUpdateSeconds"] = "0";
        // Grounded turns put the pack's passages into the prompt; the tiny model's byte-level tokens need the room.
        Factory.Settings["ChatPlatform:Model:ContextSize"] = "4096";
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => Factory.DisposeAsync();
}

public sealed class DirectLineTests(DirectLineFixture fixture) : IClassFixture<DirectLineFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly HttpClient _client = fixture.Factory.CreateClient();

    private DirectLineClient Dl => new(_client);

    [Fact]
    public async Task GenerateToken_CredentialsChecked_OnlySecretIssuesTokenBoundToNewConversation()
    {
        using var none = await _client.PostAsync("/v3/directline/tokens/generate", null, Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("Unauthorized", (string?)(await none.Content.ReadFromJsonAsync<JsonObject>(Ct))!["error"]!["code"]);

        var session = await StartAsync();
        using var withToken = await SendAsync(HttpMethod.Post, "/v3/directline/tokens/generate", session.Token);
        Assert.Equal(HttpStatusCode.Forbidden, withToken.StatusCode);

        using var generated = await SendAsync(HttpMethod.Post, "/v3/directline/tokens/generate", DirectLineFixture.Secret, new { user = new { id = "dl_alice" } });
        Assert.Equal(HttpStatusCode.OK, generated.StatusCode);
        var body = (await generated.Content.ReadFromJsonAsync<JsonObject>(Ct))!;
        Assert.Equal(1800, (int)body["expires_in"]!);
        var tokens = fixture.Factory.Services.GetRequiredService<DirectLineTokens>();
        Assert.Equal(TokenCheck.Valid, tokens.Check((string)body["token"]!, out var grant));
        Assert.Equal((string)body["conversationId"]!, grant!.ConversationId);
        Assert.Equal("dl_alice", grant.UserId);
    }

    [Fact]
    public async Task Token_ForgedExpiredOrForAnotherConversation_RefusedWithJsonError()
    {
        var session = await StartAsync();
        var parts = session.Token.Split('.');
        var forged = parts[0] + "." + parts[1] + "." + new string('A', parts[2].Length);
        using var forgedResponse = await SendAsync(HttpMethod.Get, $"/v3/directline/conversations/{session.ConversationId}/activities", forged);
        Assert.Equal(HttpStatusCode.Unauthorized, forgedResponse.StatusCode);
        Assert.Contains("not valid", (string?)(await forgedResponse.Content.ReadFromJsonAsync<JsonObject>(Ct))!["error"]!["message"], StringComparison.Ordinal);

        var past = new DirectLineTokens(Encoding.UTF8.GetBytes(DirectLineFixture.SigningKey), new ShiftedTime(TimeSpan.FromHours(-2)), TimeSpan.FromMinutes(30));
        var expired = past.Issue(session.ConversationId, "dl_x", "gradchat", "en");
        using var expiredResponse = await SendAsync(HttpMethod.Get, $"/v3/directline/conversations/{session.ConversationId}/activities", expired);
        Assert.Equal(HttpStatusCode.Forbidden, expiredResponse.StatusCode);
        Assert.Equal("TokenExpired", (string?)(await expiredResponse.Content.ReadFromJsonAsync<JsonObject>(Ct))!["error"]!["code"]);

        var other = await StartAsync();
        using var crossed = await SendAsync(HttpMethod.Post, $"/v3/directline/conversations/{other.ConversationId}/activities", session.Token, Message("hello", "c-1"));
        Assert.Equal(HttpStatusCode.Forbidden, crossed.StatusCode);
        using var refreshed = await SendAsync(HttpMethod.Post, "/v3/directline/tokens/refresh", session.Token);
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        Assert.Equal(session.ConversationId, (string?)(await refreshed.Content.ReadFromJsonAsync<JsonObject>(Ct))!["conversationId"]);
    }

    [Fact]
    public async Task PostActivity_Message_EchoedWithClientIdThenRepliedAndStored()
    {
        var session = await StartAsync();
        using var posted = await SendAsync(HttpMethod.Post, $"/v3/directline/conversations/{session.ConversationId}/activities", session.Token, Message("How do I choose a university?", "client-42"));
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        var id = (string)(await posted.Content.ReadFromJsonAsync<JsonObject>(Ct))!["id"]!;

        var (activities, watermark) = await WaitForReplyAsync(session, id);
        var echo = activities.Single(a => (string?)a["id"] == id);
        Assert.Equal("client-42", (string?)echo["channelData"]!["clientActivityID"]);
        Assert.Equal(session.UserId, (string?)echo["from"]!["id"]);
        Assert.Equal("message", (string?)activities[0]["type"]);   // the persona's greeting comes first
        Assert.DoesNotContain(activities, a => (string?)a["type"] == "typing");   // REST never returns typing
        var reply = activities.Single(a => (string?)a["replyToId"] == id);
        Assert.Equal("gradchat", (string?)reply["from"]!["id"]);

        // Nothing newer than the watermark yet.
        using var newer = await SendAsync(HttpMethod.Get, $"/v3/directline/conversations/{session.ConversationId}/activities?watermark={watermark}", session.Token);
        Assert.Empty((await newer.Content.ReadFromJsonAsync<JsonObject>(Ct))!["activities"]!.AsArray());

        var store = fixture.Factory.Services.GetRequiredService<IConversationStore>();
        var history = await store.GetHistoryAsync(DirectLineApi.ChannelId, session.ConversationId, 10, Ct);
        Assert.Equal(["user", "assistant"], history.Select(m => m.Role));
        Assert.Equal("How do I choose a university?", history[0].Text);
        Assert.Equal((string?)reply["text"], history[1].Text);
    }

    [Fact]
    public async Task PostActivity_MessageWithPersonalData_StoredRedactedEchoedAsWritten()
    {
        var session = await StartAsync();
        const string text = "Can you look over my statement? Write to me at lin.wei@example.edu.";
        using var posted = await SendAsync(HttpMethod.Post, $"/v3/directline/conversations/{session.ConversationId}/activities", session.Token, Message(text, "client-pii"));
        var id = (string)(await posted.Content.ReadFromJsonAsync<JsonObject>(Ct))!["id"]!;

        var (activities, _) = await WaitForReplyAsync(session, id);
        Assert.Equal(text, (string?)activities.Single(a => (string?)a["id"] == id)["text"]);
        var store = fixture.Factory.Services.GetRequiredService<IConversationStore>();
        var history = await store.GetHistoryAsync(DirectLineApi.ChannelId, session.ConversationId, 10, Ct);
        Assert.Equal("Can you look over my statement? Write to me at [EMAIL].", history.First(m => m.Role == "user").Text);
        Assert.DoesNotContain(history, m => m.Text.Contains("lin.wei", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PostActivity_QuestionAnsweredByPackDocument_FinalMessageListsSources()
    {
        var session = await StartAsync();
        using var posted = await SendAsync(HttpMethod.Post, $"/v3/directline/conversations/{session.ConversationId}/activities", session.Token,
            Message("When is the application deadline for the September intake?", "cite-1"));
        var id = (string)(await posted.Content.ReadFromJsonAsync<JsonObject>(Ct))!["id"]!;

        var (activities, _) = await WaitForReplyAsync(session, id);

        var reply = activities.Single(a => (string?)a["replyToId"] == id);
        var text = (string)reply["text"]!;
        Assert.Equal("markdown", (string?)reply["textFormat"]);
        Assert.Contains("\n\n———\n\n1. [Sample University Graduate Admissions Guide", text, StringComparison.Ordinal);
        Assert.Contains("](https://example.edu/graduate/admissions)", text, StringComparison.Ordinal);
        var sources = reply["channelData"]![DirectLineBot.CitationsKey]!.AsArray();
        Assert.Contains(sources, c => (string?)c!["id"] == "admissions-guide.en.md#Application deadlines");
        // The stored reply is the model's text; the sources follow it only in the channel.
        var store = fixture.Factory.Services.GetRequiredService<IConversationStore>();
        var stored = (await store.GetHistoryAsync(DirectLineApi.ChannelId, session.ConversationId, 10, Ct))[^1].Text;
        Assert.Equal(stored + CitationFooter.Format([.. sources.Select(c => new Citation((int)c!["index"]!, (string)c["id"]!, (string)c["title"]!,
            (string?)c["section"], (int?)c["page"], (string?)c["url"]))], CitationMarkup.Markdown), text);
    }

    [Fact]
    public async Task Stream_LiveAndAfterReconnect_PushesTypingLivestreamFinalAndReplaysFromWatermark()
    {
        var session = await StartAsync();
        var ws = fixture.Factory.Server.CreateWebSocketClient();
        var streamUri = new Uri(new Uri(session.StreamUrl.Replace("ws://", "http://", StringComparison.Ordinal)).PathAndQuery, UriKind.Relative);
        using var socket = await ws.ConnectAsync(new Uri(fixture.Factory.Server.BaseAddress, streamUri), Ct);

        // Streamed updates carry whole sentences (the output rails hold text back until one is complete), and the demo
        // model samples with a random seed: a reply without a sentence end before its last word streams no update. So
        // the question is asked again, at most three times (the conversation may send four messages a minute), until a
        // reply streamed.
        string id;
        List<JsonObject> frames;
        List<JsonObject> chunks;
        string? watermark = null;
        var attempt = 0;
        do
        {
            attempt++;
            using var posted = await SendAsync(HttpMethod.Post, $"/v3/directline/conversations/{session.ConversationId}/activities", session.Token, Message("Tell me about scholarships.", $"ws-1-{attempt}"));
            id = (string)(await posted.Content.ReadFromJsonAsync<JsonObject>(Ct))!["id"]!;
            frames = [];
            while (!frames.Any(a => (string?)a["type"] == "message" && (string?)a["replyToId"] == id))
            {
                var set = await ReceiveAsync(socket);
                if (set is null) continue;
                watermark = (string?)set["watermark"] ?? watermark;
                frames.AddRange(set["activities"]!.AsArray().Select(a => a!.AsObject()));
            }
            chunks = frames.Where(a => (string?)a["channelData"]?["streamType"] == "streaming" && (string?)a["replyToId"] == id).ToList();
        }
        while (chunks.Count == 0 && attempt < 3);
        Assert.Equal("Tell me about scholarships.", (string?)frames.First(a => (string?)a["id"] == id)["text"]);
        Assert.Contains(frames, a => (string?)a["type"] == "typing" && a["text"] is null);
        Assert.NotEmpty(chunks);
        var streamId = (string)chunks[0]["id"]!;
        Assert.All(chunks.Skip(1), c => Assert.Equal(streamId, (string?)c["channelData"]!["streamId"]));
        var final = frames.Single(a => (string?)a["type"] == "message" && (string?)a["replyToId"] == id);
        Assert.Equal("final", (string?)final["channelData"]!["streamType"]);
        Assert.Equal(streamId, (string?)final["channelData"]!["streamId"]);
        Assert.StartsWith((string)chunks[^1]["text"]!, (string)final["text"]!, StringComparison.Ordinal);   // cumulative text
        socket.Abort();   // the connection drops, as on a flaky network

        // While disconnected, another message is answered; the reconnecting client gets both from its watermark.
        using var missed = await SendAsync(HttpMethod.Post, $"/v3/directline/conversations/{session.ConversationId}/activities", session.Token, Message("And loans?", "ws-2"));
        var missedId = (string)(await missed.Content.ReadFromJsonAsync<JsonObject>(Ct))!["id"]!;
        await WaitForReplyAsync(session, missedId);
        using var resumed = await SendAsync(HttpMethod.Get, $"/v3/directline/conversations/{session.ConversationId}?watermark={watermark}", session.Token);
        var resumeUrl = (string)(await resumed.Content.ReadFromJsonAsync<JsonObject>(Ct))!["streamUrl"]!;
        Assert.Contains($"watermark={watermark}", resumeUrl, StringComparison.Ordinal);
        using var again = await ws.ConnectAsync(new Uri(fixture.Factory.Server.BaseAddress, new Uri(new Uri(resumeUrl.Replace("ws://", "http://", StringComparison.Ordinal)).PathAndQuery, UriKind.Relative)), Ct);
        var replay = (await ReceiveAsync(again))!["activities"]!.AsArray();
        Assert.Equal([missedId, missedId], replay.Select(a => (string?)a!["id"] == missedId ? missedId : (string?)a!["replyToId"]));
    }

    [Fact]
    public async Task PostActivity_BadMessages_ClearErrorsAndPerConversationLimit()
    {
        var session = await StartAsync();
        var path = $"/v3/directline/conversations/{session.ConversationId}/activities";
        using var empty = await SendAsync(HttpMethod.Post, path, session.Token, Message("   ", "e-1"));
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Equal("empty_message", (string?)(await empty.Content.ReadFromJsonAsync<JsonObject>(Ct))!["error"]!["code"]);
        using var tooLong = await SendAsync(HttpMethod.Post, path, session.Token, Message(new string('x', 501), "e-2"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLong.StatusCode);
        using var notJson = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("{not json", Encoding.UTF8, "application/json") };
        notJson.Headers.Authorization = new AuthenticationHeaderValue("Bearer", session.Token);
        using var notJsonResponse = await _client.SendAsync(notJson, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, notJsonResponse.StatusCode);

        // The limit is 4 messages a minute per conversation; typing activities do not count.
        using var typing = await SendAsync(HttpMethod.Post, path, session.Token, new { type = "typing" });
        Assert.Equal(HttpStatusCode.OK, typing.StatusCode);
        for (var i = 0; i < 4; i++)
        {
            using var ok = await SendAsync(HttpMethod.Post, path, session.Token, Message($"question {i}", $"l-{i}"));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using var limited = await SendAsync(HttpMethod.Post, path, session.Token, Message("one too many", "l-5"));
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.NotNull(limited.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task Cors_Preflight_AllowsConfiguredOriginOnly()
    {
        foreach (var (origin, allowed) in new[] { (DirectLineFixture.Origin, true), ("https://evil.example.com", false) })
        {
            using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v3/directline/conversations");
            preflight.Headers.Add("Origin", origin);
            preflight.Headers.Add("Access-Control-Request-Method", "POST");
            preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type,x-ms-bot-agent,x-requested-with");
            using var response = await _client.SendAsync(preflight, Ct);
            Assert.Equal(allowed, response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) && values.Single() == origin);
        }
    }

    [Fact]
    public async Task WidgetToken_UnknownPersona_404NamesAvailableOnes()
    {
        using var response = await _client.PostAsJsonAsync("/api/widget/token", new { persona = "nosuch" }, Ct);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var message = (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["error"]!["message"];
        Assert.Contains("Unknown persona 'nosuch'", message, StringComparison.Ordinal);
        Assert.Contains("gradchat", message, StringComparison.Ordinal);
        Assert.Contains("api/widget/token", await _client.GetStringAsync("/widget.js", Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Credentials_InTheUrl_OnlyATokenOnTheStream()
    {
        var session = await StartAsync();
        var t = Uri.EscapeDataString(session.Token);

        // Outside the WebSocket stream a credential in the URL is refused (it would be written to access logs).
        using var activities = await _client.GetAsync($"/v3/directline/conversations/{session.ConversationId}/activities?t={t}", Ct);
        using var posted = await _client.PostAsJsonAsync($"/v3/directline/conversations/{session.ConversationId}/activities?t={t}", Message("hi", "url-1"), Ct);
        using var generated = await _client.PostAsync($"/v3/directline/tokens/generate?t={Uri.EscapeDataString(DirectLineFixture.Secret)}", null, Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, activities.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, posted.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, generated.StatusCode);

        // The stream takes the token from its URL, as Direct Line does, but never a secret.
        var ws = fixture.Factory.Server.CreateWebSocketClient();
        var streamUri = new Uri(new Uri(session.StreamUrl.Replace("ws://", "http://", StringComparison.Ordinal)).PathAndQuery, UriKind.Relative);
        using var socket = await ws.ConnectAsync(new Uri(fixture.Factory.Server.BaseAddress, streamUri), Ct);
        Assert.Equal(WebSocketState.Open, socket.State);
        var withSecret = new Uri(fixture.Factory.Server.BaseAddress,
            $"/v3/directline/conversations/{session.ConversationId}/stream?t={Uri.EscapeDataString(DirectLineFixture.Secret)}");
        await Assert.ThrowsAnyAsync<InvalidOperationException>(() => ws.ConnectAsync(withSecret, Ct));
    }

    private Task<DirectLineClient.Session> StartAsync() => Dl.StartAsync();

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string bearer, object? body = null) => Dl.SendAsync(method, path, bearer, body);

    private static object Message(string text, string clientId) => new
    {
        type = "message", text, locale = "en-US",
        from = new { id = "ignored-client-id", role = "user" },
        channelData = new { clientActivityID = clientId },
    };

    /// <summary>Polls as Web Chat does without a WebSocket until the reply to <paramref name="id"/> is there.</summary>
    private async Task<(List<JsonObject> Activities, string Watermark)> WaitForReplyAsync(DirectLineClient.Session session, string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using var response = await SendAsync(HttpMethod.Get, $"/v3/directline/conversations/{session.ConversationId}/activities?watermark=", session.Token);
            var set = (await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!;
            var activities = set["activities"]!.AsArray().Select(a => a!.AsObject()).ToList();
            if (activities.Any(a => (string?)a["replyToId"] == id))
                return (activities, (string)set["watermark"]!);
            Assert.True(DateTime.UtcNow < deadline, "no reply within 60 s");
            await Task.Delay(100, Ct);
        }
    }

    private static async Task<JsonObject?> ReceiveAsync(WebSocket socket)
    {
        var buffer = new byte[256 * 1024];
        var total = 0;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(total), timeout.Token);
            total += result.Count;
            if (result.EndOfMessage) break;
        }
        return total == 0 ? null : JsonNode.Parse(buffer.AsSpan(0, total))!.AsObject();
    }

    private sealed class ShiftedTime(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + shift;
    }
}
