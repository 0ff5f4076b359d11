using Xunit;
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text;
using System.Text.Json;
using ChatPlatform.Core.ApiKeys;
using ChatPlatform.Data;
using ChatPlatform.Testing;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;

namespace ChatPlatform.Server.Tests.Channels;

public sealed class OpenAiApiTests(ServerFactory factory) : IClassFixture<ServerFactory>
{
    private async Task<string> IssueKeyAsync(WebApplicationFactory<Program>? app = null) =>
        await (app ?? factory).Services.GetRequiredService<ApiKeys>().CreateAsync("test-" + Guid.NewGuid().ToString("N")[..8], "test", TestContext.Current.CancellationToken);

    private ChatClient Sdk(string model, string key, WebApplicationFactory<Program>? app = null) => new(model, new ApiKeyCredential(key), new OpenAIClientOptions
    {
        Endpoint = new Uri((app ?? factory).Server.BaseAddress, "v1"),
        Transport = new HttpClientPipelineTransport((app ?? factory).CreateClient()),
        NetworkTimeout = TimeSpan.FromMinutes(2),
    });

    [Fact]
    public async Task CompleteChat_OfficialSdk_ReturnsThePersonaReplyWithUsage()
    {
        var chat = Sdk("gradchat", await IssueKeyAsync());

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("How should I prepare for graduate school?")],
            new ChatCompletionOptions(), TestContext.Current.CancellationToken);

        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.False(string.IsNullOrEmpty(completion.Content[0].Text));
        Assert.Equal("gradchat", completion.Model);
        Assert.True(completion.Usage.OutputTokenCount > 0);
        Assert.True(completion.FinishReason is ChatFinishReason.Stop or ChatFinishReason.Length);
    }

    [Fact]
    public async Task CompleteChatStreaming_OfficialSdk_StreamsChunksThatMakeTheReply()
    {
        // A model with a known reply in three pieces: the generated model's random reply may end after its first token.
        await using var app = factory.WithWebHostBuilder(b => b.ConfigureTestServices(s =>
            s.AddSingleton<Microsoft.Extensions.AI.IChatClient>(new ScriptedChatClient("Hello", " from", " gradchat."))));
        var chat = Sdk("gradchat", await IssueKeyAsync(app), app);

        var text = new StringBuilder();
        var chunks = 0;
        ChatFinishReason? finish = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Hello there")], new ChatCompletionOptions(), TestContext.Current.CancellationToken))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
                chunks++;
            }
            finish ??= update.FinishReason;
        }

        Assert.True(chunks > 1, $"{chunks} chunk(s)");
        Assert.Equal("Hello from gradchat.", text.ToString());
        Assert.NotNull(finish);
    }

    [Fact]
    public async Task CompleteChat_ForgedKey_Gets401()
    {
        await IssueKeyAsync();
        var chat = Sdk("gradchat", "cpk-forged-" + Guid.NewGuid().ToString("N"));

        var e = await Assert.ThrowsAsync<ClientResultException>(() =>
            chat.CompleteChatAsync([new UserChatMessage("Hi")], new ChatCompletionOptions(), TestContext.Current.CancellationToken));

        Assert.Equal(401, e.Status);
    }

    [Fact]
    public async Task PostCompletion_MissingKey_Gets401InOpenAiErrorShape()
    {
        await IssueKeyAsync();
        var response = await factory.CreateClient().PostAsync("/v1/chat/completions",
            new StringContent("""{"model":"gradchat","messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"),
            TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("error");
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.Contains("Authorization: Bearer", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompleteChat_UnknownModel_Gets404()
    {
        var chat = Sdk("no-such-persona", await IssueKeyAsync());

        var e = await Assert.ThrowsAsync<ClientResultException>(() =>
            chat.CompleteChatAsync([new UserChatMessage("Hi")], new ChatCompletionOptions(), TestContext.Current.CancellationToken));

        Assert.Equal(404, e.Status);
        Assert.Contains("no-such-persona", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetModels_OfficialSdk_ListsEveryPersona()
    {
        var key = await IssueKeyAsync();
        var client = new OpenAIClient(new ApiKeyCredential(key), new OpenAIClientOptions
        {
            Endpoint = new Uri(factory.Server.BaseAddress, "v1"),
            Transport = new HttpClientPipelineTransport(factory.CreateClient()),
        });

        var models = await client.GetOpenAIModelClient().GetModelsAsync(TestContext.Current.CancellationToken);

        Assert.Contains(models.Value, m => m.Id == "gradchat");
        Assert.Equal(TestPersonasCount(), models.Value.Count);
    }

    private int TestPersonasCount() => factory.Services.GetRequiredService<ChatPlatform.Core.Personas.IPersonaCatalog>().All.Count;

    [Theory]
    [InlineData("{\"model\":", HttpStatusCode.BadRequest, "invalid_json")]
    [InlineData("{\"model\":\"gradchat\",\"messages\":[]}", HttpStatusCode.BadRequest, "missing_user_message")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}", HttpStatusCode.BadRequest, "missing_model")]
    public async Task PostCompletion_BadRequest_Gets400NamingTheProblem(string body, HttpStatusCode status, string code)
    {
        var http = factory.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", await IssueKeyAsync());

        var response = await http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);

        Assert.Equal(status, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task PostCompletion_MessageOverTheLimit_Gets413()
    {
        var http = factory.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", await IssueKeyAsync());
        var body = JsonSerializer.Serialize(new { model = "gradchat", messages = new[] { new { role = "user", content = new string('a', 501) } } });

        var response = await http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("error");
        Assert.Equal("message_too_long", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task ApiClientsTable_AfterCreate_HoldsOnlyHashAndPrefix()
    {
        var key = await IssueKeyAsync();

        await using var db = await factory.Services.GetRequiredService<IDbContextFactory<ChatDbContext>>().CreateDbContextAsync(TestContext.Current.CancellationToken);
        var row = await db.ApiClients.SingleAsync(c => c.KeyHash == ApiKeys.Hash(key), TestContext.Current.CancellationToken);

        Assert.Equal(key[..ApiKeys.ShownLength], row.KeyPrefix);
        Assert.NotEqual(key, row.KeyHash);
        Assert.Null(row.RevokedAt);
    }

    [Fact]
    public async Task ChatCompletions_KeyFromAnotherProcessThenRevoked_AcceptedThenRefused()
    {
        var http = factory.CreateClient(); // starts the server, which brings the schema up to date
        // A second store on the same database, as the chatplatform command opens it: nothing is shared in memory.
        var cli = new ApiKeys(new ChatPlatform.Data.Admin.EfApiKeyStore(new ChatDbContextFactory(factory.DataDirectory)), TimeProvider.System);
        var ct = TestContext.Current.CancellationToken;
        var name = "cli-" + Guid.NewGuid().ToString("N")[..8];
        var key = await cli.CreateAsync(name, "cli", ct);
        http.DefaultRequestHeaders.Authorization = new("Bearer", key);

        var before = await http.GetAsync("/v1/models", ct);
        Assert.True(await cli.RevokeAsync(name, "cli", ct));
        var after = await http.GetAsync("/v1/models", ct);

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        var record = (await cli.ListAsync(ct)).Single(r => r.Name == name);
        Assert.NotNull(record.LastUsedAt);
        Assert.NotNull(record.RevokedAt);
    }

    [Fact]
    public async Task ChatCompletions_SameConversationIdWithAnotherKey_SeesNoneOfTheFirstKeysHistory()
    {
        var ct = TestContext.Current.CancellationToken;
        var model = new ChatPlatform.Testing.ScriptedChatClient("Noted.");
        await using var app = factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<Microsoft.Extensions.AI.IChatClient>(model)));
        var keys = app.Services.GetRequiredService<ApiKeys>();
        var first = await keys.CreateAsync("scope-a-" + Guid.NewGuid().ToString("N")[..8], "test", ct);
        var second = await keys.CreateAsync("scope-b-" + Guid.NewGuid().ToString("N")[..8], "test", ct);

        async Task<HttpResponseMessage> Post(string key, string text)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = new StringContent(JsonSerializer.Serialize(new { model = "gradchat", messages = new[] { new { role = "user", content = text } } }), Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new("Bearer", key);
            request.Headers.Add("X-Conversation-Id", "scoped-1");
            return await app.CreateClient().SendAsync(request, ct);
        }

        using var a1 = await Post(first, "My thesis is about tidal energy in Wales.");
        using var a2 = await Post(first, "What is my thesis about?");
        Assert.Equal(HttpStatusCode.OK, a1.StatusCode);
        Assert.Equal(HttpStatusCode.OK, a2.StatusCode);
        Assert.Contains(model.Calls[^1].Messages, m => m.Text.Contains("tidal energy", StringComparison.Ordinal));

        using var b1 = await Post(second, "What is my thesis about?");

        Assert.Equal(HttpStatusCode.OK, b1.StatusCode);
        Assert.Equal("scoped-1", b1.Headers.GetValues("X-Conversation-Id").Single());
        Assert.DoesNotContain(model.Calls[^1].Messages, m => m.Text.Contains("tidal energy", StringComparison.Ordinal));
        Assert.DoesNotContain("tidal energy", await b1.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
    }
}
