using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatPlatform.Channels.DirectLine;
using ChatPlatform.Testing;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests;

/// <summary>The server on a scripted model that records every prompt, so a test can see which history went in.</summary>
public sealed class RecordingServer : IAsyncDisposable
{
    public ServerFactory Factory { get; } = new();
    public ScriptedChatClient Model { get; } = new("Noted.");
    public WebApplicationFactory<Program> App { get; }

    public RecordingServer() =>
        App = Factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<IChatClient>(Model)));

    /// <summary>Every message text of every prompt the model was given so far.</summary>
    public string Prompts()
    {
        lock (Model.Calls)
            return string.Join("\n", Model.Calls.SelectMany(c => c.Messages).Select(m => m.Text));
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Factory.DisposeAsync();
    }
}

/// <summary>
/// <c>/api/chat</c> conversations can only be continued by the client that started them, with the token its first
/// turn returned; every other attempt gets one and the same 404.
/// </summary>
public sealed class ConversationTokenTests(RecordingServer server) : IClassFixture<RecordingServer>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record Turn(HttpStatusCode Status, string Body, string? ConversationId, string? Token, string? HeaderToken);

    private async Task<Turn> PostAsync(object body, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat") { Content = JsonContent.Create(body) };
        if (token is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await server.App.CreateClient().SendAsync(request, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        string? id = null, issued = null;
        if (response.StatusCode == HttpStatusCode.OK)
        {
            var done = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Single(b => b.StartsWith("event: done", StringComparison.Ordinal));
            var data = JsonDocument.Parse(done.Split('\n').Single(l => l.StartsWith("data: ", StringComparison.Ordinal))[6..]).RootElement;
            id = data.GetProperty("conversationId").GetString();
            issued = data.GetProperty("conversationToken").GetString();
        }
        var header = response.Headers.TryGetValues("X-Conversation-Token", out var values) ? values.Single() : null;
        return new Turn(response.StatusCode, text, id, issued, header);
    }

    /// <summary>The problem body without its per-request trace id.</summary>
    private static string Normalized(string body)
    {
        var node = JsonNode.Parse(body)!.AsObject();
        node.Remove("traceId");
        return node.ToJsonString();
    }

    [Fact]
    public async Task PostChat_NoConversationId_ServerIssuesIdAndToken()
    {
        var first = await PostAsync(new { persona = "gradchat", text = "Where do I start?", locale = "en" });

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.False(string.IsNullOrEmpty(first.ConversationId));
        Assert.False(string.IsNullOrEmpty(first.Token));
        Assert.Equal(first.Token, first.HeaderToken);

        var second = await PostAsync(new { persona = "gradchat", text = "And then?", locale = "en" });
        Assert.NotEqual(first.ConversationId, second.ConversationId);
    }

    [Fact]
    public async Task PostChat_RightToken_ContinuesTheConversationWithItsHistory()
    {
        var first = await PostAsync(new { persona = "gradchat", conversationId = "tok-right", text = "My favourite subject is marine geology.", locale = "en" });
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal("tok-right", first.ConversationId);

        var calls = server.Model.Calls.Count;
        var second = await PostAsync(new { persona = "gradchat", conversationId = "tok-right", text = "Which programs fit me?", locale = "en" }, first.Token);

        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal("tok-right", second.ConversationId);
        Assert.False(string.IsNullOrEmpty(second.Token));
        var prompt = string.Join("\n", server.Model.Calls.Skip(calls).SelectMany(c => c.Messages).Select(m => m.Text));
        Assert.Contains("marine geology", prompt, StringComparison.Ordinal);

        // The token alone names the conversation; the fresh token of the second turn works as well.
        var third = await PostAsync(new { persona = "gradchat", text = "Thanks.", locale = "en" }, second.Token);
        Assert.Equal(HttpStatusCode.OK, third.Status);
        Assert.Equal("tok-right", third.ConversationId);
    }

    [Fact]
    public async Task PostChat_ReusedConversationIdWithoutToken_404AndNoHistoryLeaks()
    {
        var first = await PostAsync(new { persona = "gradchat", conversationId = "tok-victim", text = "My student number is 20231187 and I failed calculus.", locale = "en" });
        Assert.Equal(HttpStatusCode.OK, first.Status);

        var calls = server.Model.Calls.Count;
        var other = await PostAsync(new { persona = "gradchat", conversationId = "tok-victim", text = "What did I tell you before?", locale = "en" });

        Assert.Equal(HttpStatusCode.NotFound, other.Status);
        Assert.Equal("conversation_not_found", JsonDocument.Parse(other.Body).RootElement.GetProperty("code").GetString());
        Assert.DoesNotContain("20231187", other.Body, StringComparison.Ordinal);
        Assert.Null(other.HeaderToken);
        Assert.Equal(calls, server.Model.Calls.Count);
        Assert.DoesNotContain("What did I tell you before?", server.Prompts(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostChat_WrongToken_SameNotFoundAsUnknownConversation()
    {
        var victim = await PostAsync(new { persona = "gradchat", conversationId = "tok-a", text = "I want to study in Delft.", locale = "en" });
        var attacker = await PostAsync(new { persona = "gradchat", conversationId = "tok-b", text = "Hello.", locale = "en" });
        Assert.Equal(HttpStatusCode.OK, victim.Status);
        Assert.Equal(HttpStatusCode.OK, attacker.Status);
        var directLineToken = server.App.Services.GetRequiredService<DirectLineTokens>().Issue("tok-a", "dl_user", "gradchat", "en");
        var calls = server.Model.Calls.Count;

        var answers = new[]
        {
            await PostAsync(new { persona = "gradchat", conversationId = "tok-a", text = "Where do I want to study?" }, attacker.Token),
            await PostAsync(new { persona = "gradchat", conversationId = "tok-a", text = "Where do I want to study?" }, victim.Token![..^2] + "xx"),
            await PostAsync(new { persona = "gradchat", conversationId = "tok-a", text = "Where do I want to study?" }, "not.a.token"),
            await PostAsync(new { persona = "gradchat", conversationId = "tok-a", text = "Where do I want to study?" }, "%%%"),
            await PostAsync(new { persona = "gradchat", conversationId = "tok-a", text = "Where do I want to study?" }, directLineToken),
            await PostAsync(new { persona = "gradchat", conversationId = "tok-a", text = "Where do I want to study?" }),
            await PostAsync(new { persona = "gradchat", conversationId = "tok-never-stored", text = "Hello?" }, attacker.Token),
        };

        var unknown = answers[^1];
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.All(answers, a =>
        {
            Assert.Equal(HttpStatusCode.NotFound, a.Status);
            Assert.Equal(Normalized(unknown.Body), Normalized(a.Body));
            Assert.DoesNotContain("Delft", a.Body, StringComparison.Ordinal);
        });
        Assert.Equal(calls, server.Model.Calls.Count);
    }

    [Fact]
    public async Task PostChat_AnotherPersonaWithTheSameId_SameNotFoundWithoutPersonaName()
    {
        var first = await PostAsync(new { persona = "gradchat", conversationId = "tok-mix", text = "hi", locale = "en" });
        Assert.Equal(HttpStatusCode.OK, first.Status);
        var unknown = await PostAsync(new { persona = "mindchat", conversationId = "tok-mix-never", text = "hi" }, first.Token);

        var withoutToken = await PostAsync(new { persona = "mindchat", conversationId = "tok-mix", text = "hi" });
        var withToken = await PostAsync(new { persona = "mindchat", conversationId = "tok-mix", text = "hi" }, first.Token);

        foreach (var answer in new[] { withoutToken, withToken })
        {
            Assert.Equal(HttpStatusCode.NotFound, answer.Status);
            Assert.Equal(Normalized(unknown.Body), Normalized(answer.Body));
            Assert.DoesNotContain("gradchat", answer.Body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task PostChat_FirstTurnRefusedAsBusy_TokenInTheHeaderLetsTheClientRetry()
    {
        server.Model.FailWith = ChatPlatform.Core.Chat.ChatRejectedException.Busy("The core is busy.", TimeSpan.FromSeconds(2));
        Turn busy;
        try
        {
            busy = await PostAsync(new { persona = "gradchat", conversationId = "tok-busy", text = "First try.", locale = "en" });
        }
        finally
        {
            server.Model.FailWith = null;
        }
        Assert.Equal(HttpStatusCode.TooManyRequests, busy.Status);
        Assert.NotNull(busy.HeaderToken);

        var taken = await PostAsync(new { persona = "gradchat", conversationId = "tok-busy", text = "Someone else." });
        var retried = await PostAsync(new { persona = "gradchat", conversationId = "tok-busy", text = "Second try.", locale = "en" }, busy.HeaderToken);

        Assert.Equal(HttpStatusCode.NotFound, taken.Status);
        Assert.Equal(HttpStatusCode.OK, retried.Status);
        Assert.Equal("tok-busy", retried.ConversationId);
    }
}
