using System.Net;
using System.Net.Http.Json;
using ChatPlatform.Core.Privacy;
using ChatPlatform.Data;
using ChatPlatform.Data.Lifecycle;
using ChatPlatform.Inference.Local;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests;

/// <summary>
/// Erasure reaches the copies a running server holds in memory, whoever erased: here the store is erased directly,
/// as <c>chatplatform data erase</c> does from another process, and the server notices through the audit log.
/// </summary>
public sealed class ErasureTests : IAsyncDisposable
{
    private readonly ServerFactory _factory = new();
    private readonly HttpClient _client;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ErasureTests()
    {
        _factory.Settings["ChatPlatform:Retention:ErasureCheckSeconds"] = "1";
        _factory.Settings["ChatPlatform:DirectLine:StreamUpdateSeconds"] = "0";
        _client = _factory.CreateClient();
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _factory.DisposeAsync();
    }

    [Fact]
    public async Task EraseUser_DirectLineTranscriptInMemory_NoLongerReplayed()
    {
        var dl = new Channels.DirectLineClient(_client);
        var session = await dl.StartAsync();
        using (var posted = await dl.SendAsync(HttpMethod.Post, $"/v3/directline/conversations/{session.ConversationId}/activities", session.Token, new { type = "message", text = "my private walrus question" }))
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        await WaitUntilAsync(async () => (await dl.ActivitiesAsync(session)).Count(a => (string?)a["from"]?["role"] == "bot") >= 2);
        Assert.Contains(await dl.ActivitiesAsync(session), a => (string?)a["text"] == "my private walrus question");

        var erased = await _factory.Services.GetRequiredService<DataLifecycle>().EraseUserAsync(session.UserId, "cli", Ct);

        Assert.Equal(1, erased.Conversations);
        await WaitUntilAsync(async () => !(await dl.ActivitiesAsync(session)).Any(a => (string?)a["text"] == "my private walrus question"));
    }

    [Fact]
    public async Task EraseConversation_PromptCacheCopy_Dropped()
    {
        using (var response = await _client.PostAsJsonAsync("/api/chat", new { persona = "gradchat", conversationId = "erase-cache-1", text = "my private okapi question" }, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("event: done", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
        var engine = _factory.Services.GetRequiredService<InferenceEngine>();
        var key = ConversationKeys.Hash("web", "erase-cache-1");
        Assert.True(await engine.CacheHoldsAsync(key));
        long conversation;
        await using (var db = await _factory.Services.GetRequiredService<IDbContextFactory<ChatDbContext>>().CreateDbContextAsync(Ct))
            conversation = await db.Conversations.Where(c => c.ExternalId == "erase-cache-1").Select(c => c.Id).SingleAsync(Ct);

        await _factory.Services.GetRequiredService<DataLifecycle>().EraseConversationAsync(conversation, "cli", Ct);

        await WaitUntilAsync(async () => !await engine.CacheHoldsAsync(key));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("The condition did not hold within 30 s.");
            await Task.Delay(100, Ct);
        }
    }
}
