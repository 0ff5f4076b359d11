using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPlatform.Core.Safety;
using ChatPlatform.Safety.Events;
using ChatPlatform.Safety.Judge;
using ChatPlatform.Testing;
using ChatPlatform.Testing.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace ChatPlatform.Server.Tests;

/// <summary>The optional guard model as a second opinion, through the real host.</summary>
public sealed class SafetyJudgeTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("local", "ChatPlatform:SafetyJudge:ModelPath")]
    [InlineData("remote", "ChatPlatform:SafetyJudge:Remote:BaseUrl")]
    [InlineData("sometimes", "ChatPlatform:SafetyJudge:Backend")]
    public void Start_JudgeHalfConfigured_FailsNamingTheKey(string backend, string key)
    {
        using var factory = new ServerFactory();
        factory.Settings["ChatPlatform:SafetyJudge:Backend"] = backend;

        var error = Assert.Throws<OptionsValidationException>(() => factory.CreateClient());

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostChat_RemoteJudgeSeesSelfHarm_CrisisProtocolWithoutTheChatModel()
    {
        await using var guard = await TestHttpServer.StartAsync(
            (context, _) => OpenAiResponses.WriteCompletionAsync(context, "Safety: Unsafe\nCategories: Suicide & Self-Harm"), Token);
        using var factory = new ServerFactory();
        factory.Settings["ChatPlatform:SafetyJudge:Backend"] = "remote";
        factory.Settings["ChatPlatform:SafetyJudge:Remote:BaseUrl"] = new Uri(guard.BaseUri, "v1").ToString();
        factory.Settings["ChatPlatform:SafetyJudge:Remote:Model"] = "qwen3guard";
        var model = new ScriptedChatClient("model text") { FailWith = new InvalidOperationException("the chat model was called") };
        await using var app = factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<IChatClient>(model)));

        var response = await app.CreateClient().PostAsJsonAsync("/api/chat",
            new { persona = "gradchat", conversationId = "judge-1", text = "Can you help me plan my revision for next week?", locale = "en" }, Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(Token);
        Assert.Contains("988", body, StringComparison.Ordinal);
        Assert.Empty(model.Calls);
        var asked = JsonDocument.Parse(Assert.Single(guard.Requests).Body).RootElement;
        Assert.Equal("qwen3guard", asked.GetProperty("model").GetString());
        var sink = app.Services.GetRequiredService<NotifyingSafetyEventSink>();
        Assert.Contains(sink.Recent, e => e.ConversationId == "judge-1" && e.Rail == "crisis" && e.Severity == SafetySeverity.High);
    }

    [Fact]
    public async Task PostChat_LocalJudgeOnGeneratedModel_LoadsBesideTheChatModelAndRulesStillDecide()
    {
        using var factory = new ServerFactory();
        factory.Settings["ChatPlatform:SafetyJudge:Backend"] = "local";
        factory.Settings["ChatPlatform:SafetyJudge:ModelPath"] = TestModels.TinyPath;
        factory.Settings["ChatPlatform:SafetyJudge:Threads"] = "1";
        var client = factory.CreateClient();

        Assert.IsType<JudgedInputSafety>(factory.Services.GetRequiredService<IInputSafety>());
        // The generated model answers in no guard format, so the rules' verdicts stand either way.
        var ordinary = await client.PostAsJsonAsync("/api/chat",
            new { persona = "gradchat", conversationId = "judge-2", text = "How do I choose a program?", locale = "en" }, Token);
        var crisis = await client.PostAsJsonAsync("/api/chat",
            new { persona = "mindchat", conversationId = "judge-3", text = "我不想活了", locale = "zh-CN" }, Token);

        Assert.Equal(HttpStatusCode.OK, ordinary.StatusCode);
        Assert.Contains("event: done", await ordinary.Content.ReadAsStringAsync(Token), StringComparison.Ordinal);
        Assert.Contains("12356", await crisis.Content.ReadAsStringAsync(Token), StringComparison.Ordinal);
    }
}
