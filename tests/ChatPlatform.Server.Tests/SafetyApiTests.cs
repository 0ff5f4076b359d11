using System.Net;
using System.Net.Http.Json;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Safety;
using ChatPlatform.Data;
using ChatPlatform.Data.Conversations;
using ChatPlatform.Safety.Events;
using ChatPlatform.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests;

public sealed class SafetyApiTests : IClassFixture<ServerFactory>
{
    private readonly ServerFactory _factory;

    public SafetyApiTests(ServerFactory factory) => _factory = factory;

    [Fact]
    public async Task PostChat_CrisisMessage_HumanWrittenReplyNoModelCallFlaggedAndRecorded()
    {
        // Any model call fails the test: the crisis protocol must not depend on the model.
        var model = new ScriptedChatClient("model text") { FailWith = new InvalidOperationException("the model was called") };
        await using var app = _factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<IChatClient>(model)));
        var client = app.CreateClient();

        var response = await client.PostAsJsonAsync("/api/chat",
            new { persona = "mindchat", conversationId = "crisis-1", text = "我 不 想 活 了。。。", locale = "zh-CN" },
            TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("12356", body, StringComparison.Ordinal);
        Assert.Contains("010-82951332", body, StringComparison.Ordinal);
        Assert.Contains("event: done", body, StringComparison.Ordinal);
        Assert.Empty(model.Calls);

        var store = app.Services.GetRequiredService<IConversationStore>();
        Assert.Contains(ConversationFlags.Crisis, await store.GetFlagsAsync("web", "crisis-1", TestContext.Current.CancellationToken));
        var sink = app.Services.GetRequiredService<NotifyingSafetyEventSink>();
        Assert.Contains(sink.Recent, e => e.ConversationId == "crisis-1" && e.Rail == "crisis" && e.Severity == SafetySeverity.High);
    }

    [Fact]
    public async Task EfConversationStore_AddFlag_IsKeptAcrossContextsAndNotDuplicated()
    {
        var store = _factory.Services.GetRequiredService<IConversationStore>();
        Assert.IsType<EfConversationStore>(store);
        var ct = TestContext.Current.CancellationToken;
        await store.OpenAsync("web", "flag-1", "gradchat", "en", null, ct);

        Assert.Empty(await store.GetFlagsAsync("web", "flag-1", ct));
        await store.AddFlagAsync("web", "flag-1", ConversationFlags.Crisis, ct);
        await store.AddFlagAsync("web", "flag-1", ConversationFlags.Crisis, ct);

        Assert.Equal([ConversationFlags.Crisis], await store.GetFlagsAsync("web", "flag-1", ct));
        var contexts = _factory.Services.GetRequiredService<IDbContextFactory<ChatDbContext>>();
        await using var db = await contexts.CreateDbContextAsync(ct);
        Assert.True(await db.Conversations.Where(c => c.ExternalId == "flag-1").Select(c => c.CrisisEngaged).SingleAsync(ct));
    }
}
