using Xunit;
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text;
using System.Text.Json;
using ChatPlatform.Channels.ApiKeys;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;

namespace ChatPlatform.Server.Tests.Channels;

public sealed class OpenAiApiTests(ServerFactory factory) : IClassFixture<ServerFactory>
{
    private async Task<string> IssueKeyAsync() =>
        await factory.Services.GetRequiredService<ApiKeys>().CreateAsync("test-" + Guid.NewGuid().ToString("N")[..8], TestContext.Current.CancellationToken);

    private ChatClient Sdk(string model, string key) => new(model, new ApiKeyCredential(key), new OpenAIClientOptions
    {
        Endpoint = new Uri(factory.Server.BaseAddress, "v1"),
        Transport = new HttpClientPipelineTransport(factory.CreateClient()),
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
        var chat = Sdk("gradchat", await IssueKeyAsync());

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

        Assert.True(chunks > 1);
        Assert.False(string.IsNullOrWhiteSpace(text.ToString()));
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
    public async Task ApiKeyFile_AfterCreate_HoldsOnlyTheHash()
    {
        var key = await IssueKeyAsync();

        var file = await File.ReadAllTextAsync(Path.Combine(factory.DataDirectory, FileApiKeyStore.FileName), TestContext.Current.CancellationToken);

        Assert.DoesNotContain(key, file, StringComparison.Ordinal);
        Assert.Contains(ApiKeys.Hash(key), file, StringComparison.Ordinal);
    }
}
