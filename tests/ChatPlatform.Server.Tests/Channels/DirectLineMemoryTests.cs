using System.Net;
using ChatPlatform.Channels.DirectLine;
using ChatPlatform.Testing;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests.Channels;

/// <summary>What one anonymous Direct Line client can make the server hold in memory, with small caps.</summary>
public sealed class DirectLineMemoryTests : IAsyncDisposable
{
    private readonly ServerFactory _factory = new();
    private readonly WebApplicationFactory<Program> _app;
    private readonly HttpClient _client;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public DirectLineMemoryTests()
    {
        _factory.Settings["ChatPlatform:DirectLine:MaxActivitiesPerConversation"] = "10";
        _factory.Settings["ChatPlatform:DirectLine:MaxConversationsInMemory"] = "10";
        _factory.Settings["ChatPlatform:DirectLine:MessagesPerMinute"] = "0";
        _factory.Settings["ChatPlatform:DirectLine:StreamUpdateSeconds"] = "0";
        _app = _factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<IChatClient>(new ScriptedChatClient("Kept ", "short."))));
        _client = _app.CreateClient();
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
        await _factory.DisposeAsync();
    }

    [Fact]
    public async Task Echo_ClientPayloads_NotKept()
    {
        var session = await Dl.StartAsync();
        var (id, token) = (session.ConversationId, session.Token);
        var bulky = new string('x', 30_000);

        using var posted = await Dl.SendAsync(HttpMethod.Post, $"/v3/directline/conversations/{id}/activities", token, new
        {
            type = "message", text = "hello", from = new { id = "ignored", name = new string('n', 500) },
            channelData = new { clientActivityID = "client-1", payload = bulky }, value = new { payload = bulky },
        });
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);

        var echo = (await Dl.ActivitiesAsync(session)).Single(a => (string?)a["from"]?["role"] == "user");
        Assert.Equal("client-1", (string?)echo["channelData"]!["clientActivityID"]);
        Assert.Null(echo["channelData"]!["payload"]);
        Assert.Null(echo["value"]);
        Assert.Null(echo["from"]!["name"]);
    }

    [Fact]
    public async Task Transcript_LongConversation_KeepsOnlyTheNewestActivities()
    {
        var session = await Dl.StartAsync();
        var (id, token) = (session.ConversationId, session.Token);

        for (var i = 0; i < 8; i++)
        {
            using var posted = await Dl.SendAsync(HttpMethod.Post, $"/v3/directline/conversations/{id}/activities", token, new { type = "message", text = $"message {i}" });
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
            await WaitForRepliesAsync(id, i + 1);
        }

        var conversation = _app.Services.GetRequiredService<DirectLineConversations>().Find(id)!;
        Assert.Equal(10, conversation.KeptCount);
        var kept = await Dl.ActivitiesAsync(session);
        Assert.Equal(10, kept.Count);
        Assert.Contains(kept, a => (string?)a["text"] == "message 7");
        Assert.DoesNotContain(kept, a => (string?)a["text"] == "message 0");
    }

    [Fact]
    public async Task Conversations_OverTheCap_LeastRecentlyUsedLeaveMemoryAndComeBackFromTheStore()
    {
        var first = await Dl.StartAsync();
        var firstId = first.ConversationId;
        using (var posted = await Dl.SendAsync(HttpMethod.Post, $"/v3/directline/conversations/{firstId}/activities", first.Token, new { type = "message", text = "remember me" }))
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        await WaitForRepliesAsync(firstId, 1);

        for (var i = 0; i < 14; i++)
            await Dl.StartAsync();

        var conversations = _app.Services.GetRequiredService<DirectLineConversations>();
        Assert.InRange(conversations.Count, 1, 10);
        Assert.Null(conversations.Find(firstId));
        // The client comes back: its conversation is rebuilt from the store with what it said.
        var rebuilt = await Dl.ActivitiesAsync(first);
        Assert.Contains(rebuilt, a => (string?)a["text"] == "remember me");
    }

    private DirectLineClient Dl => new(_client);

    /// <summary>Waits until the store holds <paramref name="replies"/> finished replies of the conversation.</summary>
    private async Task WaitForRepliesAsync(string id, int replies)
    {
        var conversation = _app.Services.GetRequiredService<DirectLineConversations>().Find(id)!;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var history = await _app.Services.GetRequiredService<ChatPlatform.Core.Chat.IConversationStore>()
                .GetHistoryAsync(DirectLineApi.ChannelId, id, 100, Ct);
            if (history.Count(m => m.Role == ChatRole.Assistant.Value) >= replies && conversation.TurnGate.CurrentCount == 1)
                return;
            await Task.Delay(20, Ct);
        }
        Assert.Fail($"The conversation did not get {replies} replies within 30 s.");
    }
}
