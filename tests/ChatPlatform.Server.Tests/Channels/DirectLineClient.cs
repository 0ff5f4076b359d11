using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace ChatPlatform.Server.Tests.Channels;

/// <summary>What the Direct Line tests do as Web Chat would: get a widget token, start the conversation, call with the token.</summary>
public sealed class DirectLineClient(HttpClient http)
{
    public sealed record Session(string ConversationId, string Token, string UserId, string StreamUrl);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A widget token for <paramref name="persona"/>, then the started conversation.</summary>
    public async Task<Session> StartAsync(string persona = "gradchat", string locale = "en")
    {
        using var token = await http.PostAsJsonAsync("/api/widget/token", new { persona, locale }, Ct);
        token.EnsureSuccessStatusCode();
        var t = (await token.Content.ReadFromJsonAsync<JsonObject>(Ct))!;
        using var started = await SendAsync(HttpMethod.Post, "/v3/directline/conversations", (string)t["token"]!);
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        var s = (await started.Content.ReadFromJsonAsync<JsonObject>(Ct))!;
        Assert.Equal((string?)t["conversationId"], (string?)s["conversationId"]);
        return new Session((string)s["conversationId"]!, (string)s["token"]!, (string)t["userId"]!, (string)s["streamUrl"]!);
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string bearer, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        if (body is not null) request.Content = JsonContent.Create(body);
        return await http.SendAsync(request, Ct);
    }

    /// <summary>The activities the conversation replays from the start (<c>GET …/activities</c>).</summary>
    public async Task<List<JsonObject>> ActivitiesAsync(Session session)
    {
        using var response = await SendAsync(HttpMethod.Get, $"/v3/directline/conversations/{session.ConversationId}/activities", session.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. (await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["activities"]!.AsArray().Select(a => a!.AsObject())];
    }
}
