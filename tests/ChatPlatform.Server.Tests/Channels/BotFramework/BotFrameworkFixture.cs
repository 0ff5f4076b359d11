using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ChatPlatform.Data;
using ChatPlatform.Testing.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Bot.Connector.Authentication;
using Microsoft.Bot.Schema;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Rest;
using Newtonsoft.Json;
using Xunit;

namespace ChatPlatform.Server.Tests.Channels.BotFramework;

/// <summary>
/// The server with Bot Framework authentication on: tokens come from <see cref="TestIdentityProvider"/>, replies go to
/// a channel service on 127.0.0.1 that records them, outbound credentials are a fixed token (no login endpoint).
/// </summary>
public sealed class BotFrameworkFixture : IAsyncLifetime
{
    public const string AppId = "7f1c2a9e-0000-4000-8000-00000000b07a";
    public const string OutboundToken = "outbound-test-token";

    private int _activityIds;

    public TestIdentityProvider Identity { get; private set; } = null!;

    /// <summary>Stands in for the channel's connector service (the activity's <c>serviceUrl</c>).</summary>
    public TestHttpServer Channel { get; private set; } = null!;

    public ServerFactory Factory { get; } = new();
    public WebApplicationFactory<Program> App { get; private set; } = null!;
    public SwitchableChatClient Model { get; } = new();

    public string ServiceUrl => Channel.BaseUri.ToString();

    public async ValueTask InitializeAsync()
    {
        Identity = await TestIdentityProvider.StartAsync(CancellationToken.None);
        Channel = await TestHttpServer.StartAsync(async (http, _) =>
        {
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync($$"""{"id":"srv-{{Interlocked.Increment(ref _activityIds)}}"}""");
        }, CancellationToken.None);

        Factory.Settings["MicrosoftAppId"] = AppId;
        Factory.Settings["MicrosoftAppPassword"] = "not-used-by-the-test-credentials";
        Factory.Settings["MicrosoftAppType"] = "MultiTenant";
        Factory.Settings["ToBotFromChannelOpenIdMetadataUrl"] = Identity.MetadataUrl;
        Factory.Settings["ToBotFromEmulatorOpenIdMetadataUrl"] = Identity.MetadataUrl;
        Factory.Settings["ToBotFromChannelTokenIssuer"] = TestIdentityProvider.Issuer;
        Factory.Settings["ToChannelFromBotLoginUrl"] = new Uri(Identity.BaseUri, "login").ToString();
        Factory.Settings["ToChannelFromBotOAuthScope"] = "https://api.botframework.com";
        Factory.Settings["OAuthUrl"] = new Uri(Identity.BaseUri, "oauth").ToString();
        Factory.Settings["ChatPlatform:BotFramework:UserMessagesPerMinute"] = "3";
        Factory.Settings["ChatPlatform:BotFramework:StreamAfterMilliseconds"] = "300";
        App = Factory.WithWebHostBuilder(b => b.ConfigureTestServices(s =>
        {
            s.AddSingleton<IChatClient>(Model);
            s.AddSingleton<ServiceClientCredentialsFactory>(new FixedTokenCredentials());
        }));
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Factory.DisposeAsync();
        await Channel.DisposeAsync();
        await Identity.DisposeAsync();
    }

    public string Token() => Identity.CreateToken(AppId, ServiceUrl);

    public async Task<HttpResponseMessage> PostAsync(Activity activity, string? token, string path = "/api/messages") =>
        await PostRawAsync(JsonConvert.SerializeObject(activity), token, path);

    public async Task<HttpResponseMessage> PostRawAsync(string json, string? token, string path = "/api/messages")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (token is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await App.CreateClient().SendAsync(request, TestContext.Current.CancellationToken);
    }

    public Activity Message(string conversationId, string text, string channelId = "msteams", string conversationType = "personal", string? user = null) => new()
    {
        Type = ActivityTypes.Message,
        Id = "in-" + Guid.NewGuid().ToString("N")[..8],
        Text = text,
        ChannelId = channelId,
        ServiceUrl = ServiceUrl,
        From = new ChannelAccount(user ?? "user-" + conversationId, "Test User"),
        Recipient = new ChannelAccount("28:" + AppId, "Persona Bot"),
        Conversation = new ConversationAccount(id: conversationId, conversationType: conversationType),
        Locale = "en-US",
    };

    /// <summary>What the bot sent to the channel for a conversation, in order.</summary>
    public IReadOnlyList<(RecordedRequest Request, JsonElement Activity)> Sent(string conversationId) =>
        [.. Channel.Requests
            .Where(r => r.PathAndQuery.StartsWith($"/v3/conversations/{Uri.EscapeDataString(conversationId)}/activities", StringComparison.Ordinal))
            .Select(r => (r, JsonDocument.Parse(r.Body).RootElement.Clone()))];

    public IReadOnlyList<JsonElement> SentMessages(string conversationId) =>
        [.. Sent(conversationId).Select(s => s.Activity).Where(a => a.GetProperty("type").GetString() == "message")];

    public async Task<ChatDbContext> DbAsync() =>
        await App.Services.GetRequiredService<IDbContextFactory<ChatDbContext>>().CreateDbContextAsync(TestContext.Current.CancellationToken);

    private sealed class FixedTokenCredentials : ServiceClientCredentialsFactory
    {
        public override Task<bool> IsValidAppIdAsync(string appId, CancellationToken cancellationToken) => Task.FromResult(appId == AppId);

        public override Task<bool> IsAuthenticationDisabledAsync(CancellationToken cancellationToken) => Task.FromResult(false);

        public override Task<ServiceClientCredentials> CreateCredentialsAsync(string appId, string audience, string loginEndpoint, bool validateAuthority, CancellationToken cancellationToken) =>
            Task.FromResult<ServiceClientCredentials>(new TokenCredentials(OutboundToken));
    }
}

/// <summary>A chat client whose answers each test chooses.</summary>
public sealed class SwitchableChatClient : IChatClient
{
    public IChatClient Inner { get; set; } = new ChatPlatform.Testing.ScriptedChatClient("Hello from the persona.");

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        Inner.GetResponseAsync(messages, options, cancellationToken);

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        Inner.GetStreamingResponseAsync(messages, options, cancellationToken);

    public object? GetService(Type serviceType, object? serviceKey = null) => Inner.GetService(serviceType, serviceKey);

    public void Dispose()
    {
    }
}
