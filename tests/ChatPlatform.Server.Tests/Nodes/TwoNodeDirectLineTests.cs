using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using ChatPlatform.Server.Tests.Channels;
using Xunit;

namespace ChatPlatform.Server.Tests.Nodes;

/// <summary>
/// Direct Line behind a round-robin balancer: two real server processes on one PostgreSQL database. Whichever node
/// a request reaches, the conversation is the same: the same activities, in the same order, under the same ids and
/// watermarks, and a stream held by one node shows what was posted to the other.
/// </summary>
public sealed class TwoNodeDirectLineTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Conversation_StartedOnAPostedOnBothStreamedOnA_EveryNodeShowsTheSameTranscript()
    {
        await using var nodes = await TwoNodes.StartAsync(Ct);
        var a = new DirectLineClient(nodes.A);
        var b = new DirectLineClient(nodes.B);
        var session = await a.StartAsync();
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri(session.StreamUrl), Ct);
        var streamed = new List<JsonObject>();

        // Alternating like a round-robin balancer: B, A, B. Each echo and reply reaches the stream on A.
        string[] texts = ["How do I choose a university?", "What about scholarships?", "And the deadlines?"];
        var ids = new List<string>();
        for (var i = 0; i < texts.Length; i++)
        {
            var node = i % 2 == 0 ? b : a;
            using var posted = await node.SendAsync(HttpMethod.Post, $"/v3/directline/conversations/{session.ConversationId}/activities", session.Token, new
            {
                type = "message", text = texts[i], locale = "en-US", channelData = new { clientActivityID = $"client-{i}" },
            });
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
            var id = (string)(await posted.Content.ReadFromJsonAsync<JsonObject>(Ct))!["id"]!;
            ids.Add(id);
            await ReceiveUntilAsync(nodes, socket, streamed, frames => frames.Any(f => (string?)f["type"] == "message" && (string?)f["replyToId"] == id));
        }

        // On the stream: every echo, with the client's id Web Chat marks it sent by, before its reply.
        var messages = streamed.Where(f => (string?)f["type"] == "message").ToList();
        for (var i = 0; i < ids.Count; i++)
        {
            var echo = messages.FindIndex(m => (string?)m["id"] == ids[i]);
            var reply = messages.FindIndex(m => (string?)m["replyToId"] == ids[i]);
            Assert.True(echo >= 0 && reply > echo, $"message {i}: echo at {echo}, reply at {reply}");
            Assert.Equal($"client-{i}", (string?)messages[echo]["channelData"]!["clientActivityID"]);
            Assert.Equal(texts[i], (string?)messages[echo]["text"]);
        }

        // GET activities on either node: the greeting, then the three messages each followed by its reply, alike.
        var (onA, watermarkA) = await ActivitiesAsync(a, session, "");
        var (onB, watermarkB) = await ActivitiesAsync(b, session, "");
        Assert.Equal(7, onA.Count);
        Assert.Equal(Ids(onA), Ids(onB));
        Assert.Equal(watermarkA, watermarkB);
        Assert.Equal(ids, onA.Where(m => (string?)m["from"]!["role"] == "user").Select(m => (string)m["id"]!));
        for (var i = 0; i < ids.Count; i++)
            Assert.Equal(ids[i], (string?)onA[2 + 2 * i]["replyToId"]);
        Assert.Equal(Ids(onA), Ids(onA.OrderBy(m => (long)m["channelData"]!["webchat:sequence-id"]!).ToList()));

        // A watermark from one node means the same on the other: nothing newer, or exactly what followed it.
        Assert.Empty((await ActivitiesAsync(b, session, watermarkA)).Activities);
        var (afterTwo, _) = await ActivitiesAsync(a, session, Watermark(onB, ids[1]));
        Assert.Equal(Ids(onB).TakeLast(2), Ids(afterTwo));
    }

    [Fact]
    public async Task Conversation_ErasedThroughTheStore_LeavesTheMemoryOfBothNodes()
    {
        await using var nodes = await TwoNodes.StartAsync(Ct, new Dictionary<string, string> { ["ChatPlatform__Retention__ErasureCheckSeconds"] = "1" });
        var a = new DirectLineClient(nodes.A);
        var b = new DirectLineClient(nodes.B);
        var session = await a.StartAsync();
        using var posted = await b.SendAsync(HttpMethod.Post, $"/v3/directline/conversations/{session.ConversationId}/activities", session.Token,
            new { type = "message", text = "Please forget this question.", locale = "en-US" });
        var id = (string)(await posted.Content.ReadFromJsonAsync<JsonObject>(Ct))!["id"]!;
        await UntilAsync(async () => (await ActivitiesAsync(a, session, "")).Activities.Any(m => (string?)m["replyToId"] == id), "the reply on A");
        await UntilAsync(async () => (await ActivitiesAsync(b, session, "")).Activities.Any(m => (string?)m["replyToId"] == id), "the reply on B");

        // Erased as `chatplatform data erase --user` does, from outside both nodes.
        var database = new ChatPlatform.Core.Configuration.DatabaseOptions
        {
            Provider = ChatPlatform.Core.Configuration.DatabaseOptions.Postgres,
            ConnectionString = nodes.ConnectionString,
        };
        var lifecycle = new ChatPlatform.Data.Lifecycle.DataLifecycle(
            new ChatPlatform.Data.ChatDbContextFactory(database, nodes.DataA), new ChatPlatform.Core.Configuration.RetentionOptions());
        Assert.Equal(1, (await lifecycle.EraseUserAsync(session.UserId, "test", Ct)).Conversations);

        // Each node drops its copy and rebuilds it from the store, which no longer holds the messages: the greeting alone.
        foreach (var node in new[] { a, b })
            await UntilAsync(async () => (await ActivitiesAsync(node, session, "")).Activities.All(m => (string?)m["from"]?["role"] == "bot" && m["replyToId"] is null), "the erasure on both nodes");
    }

    /// <summary>Waits, for at most 90 s, until <paramref name="condition"/> holds.</summary>
    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"no {what} within 90 s");
            await Task.Delay(200, Ct);
        }
    }

    private static List<string> Ids(List<JsonObject> activities) => [.. activities.Select(m => (string)m["id"]!)];

    /// <summary>The watermark a client holds after reading up to the reply to <paramref name="id"/>: the reply's id suffix.</summary>
    private static string Watermark(List<JsonObject> activities, string id)
    {
        var reply = (string)activities.Single(m => (string?)m["replyToId"] == id)["id"]!;
        return int.Parse(reply[(reply.LastIndexOf('|') + 1)..], System.Globalization.CultureInfo.InvariantCulture).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<(List<JsonObject> Activities, string Watermark)> ActivitiesAsync(DirectLineClient node, DirectLineClient.Session session, string watermark)
    {
        using var response = await node.SendAsync(HttpMethod.Get, $"/v3/directline/conversations/{session.ConversationId}/activities?watermark={watermark}", session.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var set = (await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!;
        return ([.. set["activities"]!.AsArray().Select(x => x!.AsObject())], (string)set["watermark"]!);
    }

    /// <summary>Reads stream frames into <paramref name="frames"/> until <paramref name="done"/> holds, for at most 90 s.</summary>
    private static async Task ReceiveUntilAsync(TwoNodes nodes, ClientWebSocket socket, List<JsonObject> frames, Func<List<JsonObject>, bool> done)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(90));
        var buffer = new byte[256 * 1024];
        while (!done(frames))
        {
            var total = 0;
            while (true)
            {
                ValueWebSocketReceiveResult result;
                try
                {
                    result = await socket.ReceiveAsync(buffer.AsMemory(total), timeout.Token);
                }
                catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
                {
                    Assert.Fail($"The stream on A did not show the reply within 90 s.\nA:\n{nodes.ServerA.OutputText}\nB:\n{nodes.ServerB.OutputText}");
                    throw;
                }
                Assert.NotEqual(WebSocketMessageType.Close, result.MessageType);
                total += result.Count;
                if (result.EndOfMessage) break;
            }
            if (total > 0)
                frames.AddRange(JsonNode.Parse(buffer.AsSpan(0, total))!["activities"]!.AsArray().Select(x => x!.AsObject()));
        }
    }
}
