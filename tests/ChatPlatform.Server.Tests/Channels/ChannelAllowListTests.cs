using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatPlatform.Core.Chat;
using ChatPlatform.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests.Channels;

/// <summary>Two packs: mindchat offered everywhere, and gradchat offered only on the command line.</summary>
public sealed class ChannelAllowListFixture : IAsyncLifetime
{
    private readonly TempPack _packs = TempPack.CopyOf("gradchat");
    private readonly ServerFactory _factory = new();

    public WebApplicationFactory<Program> App { get; private set; } = null!;

    public ValueTask InitializeAsync()
    {
        var yaml = _packs.Read("persona.yaml");
        Assert.Contains("channels: [web, api, teams, slack, cli]", yaml, StringComparison.Ordinal);
        _packs.Write("persona.yaml", yaml.Replace("channels: [web, api, teams, slack, cli]", "channels: [cli]", StringComparison.Ordinal));
        _packs.AddCopyOf("mindchat");
        _factory.Settings["ChatPlatform:PersonasDirectory"] = _packs.PersonasDirectory;
        App = _factory.WithWebHostBuilder(b => b.ConfigureTestServices(s =>
        {
            s.AddSingleton<IChatClient>(new ScriptedChatClient("Allowed ", "answer."));
            s.AddSingleton<IStartupFilter>(new RemoteAddressFilter());
        }));
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await _factory.DisposeAsync();
        _packs.Dispose();
    }

    /// <summary>A client on this machine (so /v1 and the Bot Framework endpoint serve it without credentials).</summary>
    public HttpClient LocalClient()
    {
        var client = App.CreateClient();
        client.DefaultRequestHeaders.Add(RemoteAddressFilter.Header, "127.0.0.1");
        return client;
    }
}

public sealed class ChannelAllowListTests(ChannelAllowListFixture fixture) : IClassFixture<ChannelAllowListFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ApiChat_PersonaNotOfferedOnTheWeb_AnsweredAsUnknown()
    {
        using var client = fixture.LocalClient();

        using var refused = await client.PostAsJsonAsync("/api/chat", new { persona = "gradchat", text = "hello" }, Ct);
        using var served = await client.PostAsJsonAsync("/api/chat", new { persona = "mindchat", text = "hello" }, Ct);

        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        var problem = await refused.Content.ReadAsStringAsync(Ct);
        Assert.Contains("unknown_persona", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("gradchat, ", problem, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public async Task OpenAiApi_PersonaNotOfferedOnTheApi_NotListedAndModelNotFound()
    {
        using var client = fixture.LocalClient();

        var models = (await client.GetFromJsonAsync<JsonObject>("/v1/models", Ct))!["data"]!.AsArray().Select(m => (string)m!["id"]!).ToList();
        using var refused = await client.PostAsJsonAsync("/v1/chat/completions",
            new { model = "gradchat", messages = new[] { new { role = "user", content = "hello" } } }, Ct);

        Assert.Equal(["mindchat"], models);
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.Contains("model_not_found", await refused.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DirectLine_PersonaNotOfferedOnTheWeb_WidgetTokenAnsweredAsUnknown()
    {
        using var client = fixture.LocalClient();

        using var refused = await client.PostAsJsonAsync("/api/widget/token", new { persona = "gradchat" }, Ct);

        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.Contains("unknown_persona", await refused.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BotFramework_RouteToPersonaNotOfferedOnTeams_AnsweredAsUnknown()
    {
        using var client = fixture.LocalClient();
        var activity = JsonSerializer.Serialize(new
        {
            type = "message", id = "m1", text = "hello", channelId = "msteams", serviceUrl = "http://127.0.0.1:9/",
            from = new { id = "u1" }, recipient = new { id = "bot" }, conversation = new { id = "route-1" },
        });

        using var refused = await client.PostAsync("/api/messages/gradchat", new StringContent(activity, Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.Contains("unknown_persona", await refused.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("slack")]
    [InlineData("bf-msteams")]
    [InlineData("bf-slack")]
    [InlineData("directline")]
    [InlineData("openai")]
    public void Orchestrator_TurnOnAChannelThePackDoesNotOffer_UnknownPersona(string channel)
    {
        var orchestrator = fixture.App.Services.GetRequiredService<ChatOrchestrator>();

        var refused = orchestrator.Validate(new ChatTurn("gradchat", "c1", "hello", Channel: channel));
        var onCli = orchestrator.Validate(new ChatTurn("gradchat", "c1", "hello", Channel: "cli"));

        Assert.Equal("unknown_persona", refused?.Code);
        Assert.Null(onCli);
    }
}
