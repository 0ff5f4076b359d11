using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatPlatform.Core.ApiKeys;
using ChatPlatform.Server.Tests.Channels.BotFramework;
using ChatPlatform.Testing.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit;

namespace ChatPlatform.Server.Tests;

/// <summary>The real host with <c>ChatPlatform:Model:Backend = remote</c>, answering through an OpenAI-compatible server on 127.0.0.1.</summary>
public sealed class RemoteBackendTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static ServerFactory RemoteFactory(TestHttpServer upstream)
    {
        var factory = new ServerFactory();
        factory.Settings["ChatPlatform:Model:Backend"] = "remote";
        factory.Settings["ChatPlatform:Model:Path"] = "/nonexistent/not-needed-for-remote.gguf";
        factory.Settings["ChatPlatform:Remote:BaseUrl"] = new Uri(upstream.BaseUri, "v1").ToString();
        factory.Settings["ChatPlatform:Remote:UsePersonaAsModel"] = "true";
        factory.Settings["ChatPlatform:Remote:TimeoutSeconds"] = "5";
        factory.Settings["ChatPlatform:Remote:MaxRetries"] = "1";
        return factory;
    }

    [Fact]
    public async Task PostChat_RemoteBackend_StreamsTheUpstreamReplyAndSendsPersonaAsModel()
    {
        await using var upstream = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteReplyAsync(context, "Start with ", "your interests."), Token);
        using var factory = RemoteFactory(upstream);

        var response = await factory.CreateClient().PostAsJsonAsync("/api/chat",
            new { persona = "gradchat", conversationId = "remote-1", text = "How do I choose a program?", locale = "en" }, Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(Token);
        // The output rails release the reply sentence by sentence.
        Assert.Contains("\"text\":\"Start with your interests.\"", body, StringComparison.Ordinal);
        Assert.Contains("event: done", body, StringComparison.Ordinal);

        var sent = JsonDocument.Parse(Assert.Single(upstream.Requests).Body).RootElement;
        Assert.Equal("gradchat", sent.GetProperty("model").GetString());
        var messages = sent.GetProperty("messages");
        Assert.Equal("system", messages[0].GetProperty("role").GetString());
        Assert.Equal("How do I choose a program?", messages[messages.GetArrayLength() - 1].GetProperty("content").GetString());
    }

    [Fact]
    public async Task PostChat_RemoteBackend_OutputRailsCheckTheUpstreamReply()
    {
        await using var upstream = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteReplyAsync(context,
            "Rest and drink water. ", "You should take 1200 mg every 4 hours. ", "See a doctor if it gets worse."), Token);
        using var factory = RemoteFactory(upstream);

        var response = await factory.CreateClient().PostAsJsonAsync("/api/chat",
            new { persona = "sunsimiao", conversationId = "remote-rails", text = "I have a headache, what should I do?", locale = "en" }, Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(Token);
        Assert.Contains("Rest and drink water.", body, StringComparison.Ordinal);
        Assert.DoesNotContain("1200 mg", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("stall", "timeout")]
    [InlineData("drop", "reply_interrupted")]
    public async Task PostChat_UpstreamFailsMidReply_ErrorEventAndTheTextSoFarIsStored(string fault, string code)
    {
        await using var upstream = await TestHttpServer.StartAsync(async (context, _) =>
        {
            await OpenAiResponses.WriteEventsAsync(context, [OpenAiResponses.Chunk("Half an answer. ")]);
            if (fault == "drop") await OpenAiResponses.AbortAfterDeliveryAsync(context);
            else await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }, Token);
        using var factory = RemoteFactory(upstream);
        // Only the stalled server should hit the timeout; the dropped connection must end the reply by itself.
        factory.Settings["ChatPlatform:Remote:TimeoutSeconds"] = fault == "stall" ? "1" : "60";
        var conversation = "remote-mid-" + fault;

        var response = await factory.CreateClient().PostAsJsonAsync("/api/chat",
            new { persona = "gradchat", conversationId = conversation, text = "hi" }, Token);

        var body = await response.Content.ReadAsStringAsync(Token);
        Assert.Contains("\"text\":\"Half an answer.", body, StringComparison.Ordinal);
        Assert.True(body.Contains("event: error", StringComparison.Ordinal), body);
        Assert.True(body.Contains($"\"code\":\"{code}\"", StringComparison.OrdinalIgnoreCase), body);
        Assert.Single(upstream.Requests);

        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(factory.DataDirectory, "chatplatform.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT m.Text FROM messages m JOIN conversations c ON c.Id = m.ConversationId WHERE c.ExternalId = '{conversation}' AND m.Role = 'assistant'";
        Assert.Equal("Half an answer.", (command.ExecuteScalar() as string)?.Trim());
    }

    [Fact]
    public async Task PostChat_InferenceServerDown_502UnavailableThenTheSameTurnResentIsAnsweredAndStoredOnce()
    {
        // Every node of a deployment points at one inference server; here it is down (nothing listens on its port).
        var port = ServerProcess.FreePort();
        using var factory = new ServerFactory();
        factory.Settings["ChatPlatform:Model:Backend"] = "remote";
        factory.Settings["ChatPlatform:Model:Path"] = "/nonexistent/not-needed-for-remote.gguf";
        factory.Settings["ChatPlatform:Remote:BaseUrl"] = $"http://127.0.0.1:{port}/v1";
        factory.Settings["ChatPlatform:Remote:UsePersonaAsModel"] = "true";
        factory.Settings["ChatPlatform:Remote:MaxRetries"] = "1";
        var http = factory.CreateClient();
        var key = await factory.Services.GetRequiredService<ApiKeys>().CreateAsync("down-test", "test", Token);

        var chat = await http.PostAsJsonAsync("/api/chat", new { persona = "gradchat", conversationId = "remote-down", text = "Is anyone there?", locale = "en" }, Token);
        using var completion = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "gradchat", messages = new[] { new { role = "user", content = "Is anyone there?" } } }),
        };
        completion.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var v1 = await http.SendAsync(completion, Token);

        Assert.Equal(HttpStatusCode.BadGateway, chat.StatusCode);
        var problem = await chat.Content.ReadFromJsonAsync<JsonElement>(Token);
        Assert.Equal("upstream_unreachable", problem.GetProperty("code").GetString());
        Assert.Equal("The inference server is unavailable. Try again later.", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.BadGateway, v1.StatusCode);
        var v1Error = (await v1.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("error");
        Assert.Equal("upstream_unreachable", v1Error.GetProperty("code").GetString());
        // A refused turn stores nothing, so sending it again cannot leave the message twice in the transcript.
        Assert.Empty(StoredRoles(factory, "remote-down"));

        // The server comes back; the client resends into the same conversation with the token the refusal carried.
        await using var upstream = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteReplyAsync(context, "I am here now."), Token, port: port);
        using var again = new HttpRequestMessage(HttpMethod.Post, "/api/chat")
        {
            Content = JsonContent.Create(new { text = "Is anyone there?", locale = "en" }),
        };
        again.Headers.Authorization = new AuthenticationHeaderValue("Bearer", chat.Headers.GetValues("X-Conversation-Token").Single());
        var answered = await http.SendAsync(again, Token);

        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Contains("I am here now.", await answered.Content.ReadAsStringAsync(Token), StringComparison.Ordinal);
        Assert.Equal(["user", "assistant"], StoredRoles(factory, "remote-down"));
        Assert.Equal("gradchat", JsonDocument.Parse(Assert.Single(upstream.Requests, r => r.Method == "POST").Body).RootElement.GetProperty("model").GetString());
    }

    private static List<string> StoredRoles(ServerFactory factory, string conversation)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(factory.DataDirectory, "chatplatform.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT m.Role FROM messages m JOIN conversations c ON c.Id = m.ConversationId WHERE c.ExternalId = $id ORDER BY m.Sequence";
        command.Parameters.AddWithValue("$id", conversation);
        using var reader = command.ExecuteReader();
        var roles = new List<string>();
        while (reader.Read()) roles.Add(reader.GetString(0));
        return roles;
    }

    [Fact]
    public async Task PostChat_UpstreamBusy_429WithRetryAfter()
    {
        await using var upstream = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteErrorAsync(context, 429, "no free slot", retryAfterSeconds: 20), Token);
        using var factory = RemoteFactory(upstream);

        var response = await factory.CreateClient().PostAsJsonAsync("/api/chat",
            new { persona = "gradchat", conversationId = "remote-2", text = "hi" }, Token);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(20), response.Headers.RetryAfter?.Delta);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Token);
        Assert.Equal("busy", problem.GetProperty("code").GetString());
    }

    [Fact]
    public async Task PostChat_UpstreamRejectsKey_502NamingTheSetting()
    {
        await using var upstream = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteErrorAsync(context, 401, "invalid api key"), Token);
        using var factory = RemoteFactory(upstream);

        var response = await factory.CreateClient().PostAsJsonAsync("/api/chat",
            new { persona = "gradchat", conversationId = "remote-3", text = "hi" }, Token);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Token);
        Assert.Equal("upstream_auth", problem.GetProperty("code").GetString());
        Assert.Contains("ChatPlatform:Remote:ApiKey", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AllChannels_UpstreamFailsWithCredentialsInUrl_UsersSeeTheCodeOnlyAndTheLogTheMaskedUrl()
    {
        const string Marker = "upstream-trace-5d2c at /srv/vllm";
        const string Password = "pa55-word-91";
        await using var upstream = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteErrorAsync(context, 500, Marker), Token);
        using var factory = RemoteFactory(upstream);
        factory.Settings["ChatPlatform:Remote:BaseUrl"] = $"http://ops:{Password}@127.0.0.1:{upstream.BaseUri.Port}/v1?api_key=key-0123";
        factory.Settings["ChatPlatform:Remote:MaxRetries"] = "0";
        factory.Settings["ChatPlatform:DirectLine:Secrets:0"] = "test-directline-secret-0123456789";
        factory.Settings["ChatPlatform:DirectLine:TokenSigningKey"] = "test-signing-key-0123456789-0123456789";
        var logs = new RecordingLoggerProvider();
        await using var app = factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<ILoggerProvider>(logs)));
        var http = app.CreateClient();
        var answers = new List<string>();

        // The web widget's API.
        var chat = await http.PostAsJsonAsync("/api/chat", new { persona = "gradchat", conversationId = "remote-leak", text = "hi" }, Token);
        Assert.Equal(HttpStatusCode.BadGateway, chat.StatusCode);
        var chatBody = await chat.Content.ReadAsStringAsync(Token);
        Assert.Equal("upstream_error", JsonDocument.Parse(chatBody).RootElement.GetProperty("code").GetString());
        answers.Add(chatBody);

        // The OpenAI-compatible API.
        var key = await app.Services.GetRequiredService<ApiKeys>().CreateAsync("leak-test", "test", Token);
        using var completion = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "gradchat", messages = new[] { new { role = "user", content = "hi" } } }),
        };
        completion.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var v1 = await http.SendAsync(completion, Token);
        Assert.Equal(HttpStatusCode.BadGateway, v1.StatusCode);
        var v1Body = await v1.Content.ReadAsStringAsync(Token);
        Assert.Equal("upstream_error", JsonDocument.Parse(v1Body).RootElement.GetProperty("error").GetProperty("code").GetString());
        answers.Add(v1Body);

        // Direct Line, as the embedded Web Chat uses it.
        var widget = (await (await http.PostAsJsonAsync("/api/widget/token", new { persona = "gradchat", locale = "en" }, Token)).Content.ReadFromJsonAsync<JsonObject>(Token))!;
        using var open = new HttpRequestMessage(HttpMethod.Post, "/v3/directline/conversations");
        open.Headers.Authorization = new AuthenticationHeaderValue("Bearer", (string)widget["token"]!);
        var started = (await (await http.SendAsync(open, Token)).Content.ReadFromJsonAsync<JsonObject>(Token))!;
        var conversation = (string)started["conversationId"]!;
        var token = (string)started["token"]!;
        using var post = new HttpRequestMessage(HttpMethod.Post, $"/v3/directline/conversations/{conversation}/activities")
        {
            Content = JsonContent.Create(new { type = "message", text = "hi", from = new { id = "u", role = "user" } }),
        };
        post.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var posted = await http.SendAsync(post, Token);
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        var id = (string)(await posted.Content.ReadFromJsonAsync<JsonObject>(Token))!["id"]!;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string activities;
        while (true)
        {
            using var poll = new HttpRequestMessage(HttpMethod.Get, $"/v3/directline/conversations/{conversation}/activities");
            poll.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            activities = await (await http.SendAsync(poll, Token)).Content.ReadAsStringAsync(Token);
            if (JsonNode.Parse(activities)!["activities"]!.AsArray().Any(a => (string?)a!["replyToId"] == id)) break;
            Assert.True(DateTime.UtcNow < deadline, "no Direct Line reply within 60 s");
            await Task.Delay(100, Token);
        }
        Assert.Contains("upstream_error", activities, StringComparison.Ordinal);
        answers.Add(activities);

        foreach (var answer in answers)
        {
            Assert.DoesNotContain("upstream-trace-5d2c", answer, StringComparison.Ordinal);
            Assert.DoesNotContain(Password, answer, StringComparison.Ordinal);
            Assert.DoesNotContain("key-0123", answer, StringComparison.Ordinal);
            Assert.DoesNotContain("127.0.0.1", answer, StringComparison.Ordinal);
        }
        Assert.Equal(3, upstream.Requests.Count);
        var masked = $"http://***@127.0.0.1:{upstream.BaseUri.Port}/v1/chat/completions?api_key=***";
        Assert.Contains(logs.Messages, m => m.Contains(masked, StringComparison.Ordinal) && m.Contains("HTTP 500", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Messages, m => m.Contains(Password, StringComparison.Ordinal) || m.Contains("key-0123", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("ChatPlatform:Model:Backend", "cloud")]
    [InlineData("ChatPlatform:Remote:BaseUrl", "")]
    [InlineData("ChatPlatform:Remote:BaseUrl", "gpu-box:8080")]
    [InlineData("ChatPlatform:Remote:TimeoutSeconds", "0")]
    [InlineData("ChatPlatform:Remote:MaxRetries", "-1")]
    public void Start_BadRemoteSetting_FailsNamingTheKey(string key, string value)
    {
        using var factory = new ServerFactory();
        factory.Settings["ChatPlatform:Model:Backend"] = "remote";
        factory.Settings["ChatPlatform:Remote:BaseUrl"] = "http://127.0.0.1:9/v1";
        factory.Settings["ChatPlatform:Remote:Model"] = "m";
        factory.Settings[key] = value;

        var error = Assert.Throws<OptionsValidationException>(() => factory.CreateClient());

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_RemoteWithoutModelName_FailsNamingBothWays()
    {
        using var factory = new ServerFactory();
        factory.Settings["ChatPlatform:Model:Backend"] = "remote";
        factory.Settings["ChatPlatform:Remote:BaseUrl"] = "http://127.0.0.1:9/v1";

        var error = Assert.Throws<OptionsValidationException>(() => factory.CreateClient());

        Assert.Contains("ChatPlatform:Remote:Model", error.Message, StringComparison.Ordinal);
        Assert.Contains("ChatPlatform:Remote:UsePersonaAsModel", error.Message, StringComparison.Ordinal);
    }
}
