using System.Net;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Safety;
using ChatPlatform.Data.Admin;
using ChatPlatform.Data.Conversations;
using ChatPlatform.Data.Safety;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests.Admin;

/// <summary>The operations pages and their API through the real host: roles, data shown, secrets masked.</summary>
public sealed class OperationsPagesTests : IClassFixture<OperationsPagesTests.Factory>
{
    public const string SlackSecret = "slack-signing-secret-value-7f3a";

    /// <summary>A server with a Slack signing secret configured, so the channels page has a secret to mask.</summary>
    public sealed class Factory : IDisposable
    {
        public ServerFactory Server { get; } = new() { Settings = { ["ChatPlatform:Slack:SigningSecret"] = SlackSecret } };

        public void Dispose() => Server.Dispose();
    }

    private readonly ServerFactory _factory;

    public OperationsPagesTests(Factory fixture)
    {
        ArgumentNullException.ThrowIfNull(fixture);
        _factory = fixture.Server;
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<HttpClient> SignedInAsync(string role)
    {
        var user = role.ToLowerInvariant() + "-" + Guid.NewGuid().ToString("N")[..8];
        var password = await AdminLogin.CreateAccountAsync(_factory, user, role, Ct);
        var client = AdminLogin.Client(_factory);
        await AdminLogin.SignInAsync(client, user, password, Ct);
        return client;
    }

    /// <summary>A stored conversation with a crisis event; returns its row id.</summary>
    private async Task<long> SeedAsync(string external, string text)
    {
        using var anonymous = AdminLogin.Client(_factory); // starts the host and its schema
        var store = _factory.Services.GetRequiredService<IConversationStore>();
        await store.OpenAsync("web", external, "mindchat", "en", "user-" + external, Ct);
        await store.AppendAsync("web", external, new StoredMessage("user", text, DateTimeOffset.UtcNow), new MessageDetails(SafetyVerdicts: ["crisis:engaged"]), Ct);
        var contexts = _factory.Services.GetRequiredService<IDbContextFactory<Data.ChatDbContext>>();
        await SafetyEventWriter.StoreAsync(contexts, [new SafetyEvent("web", external, "mindchat", "crisis", SafetySeverity.High, "referral", null, DateTimeOffset.UtcNow)], Ct);
        var page = await _factory.Services.GetRequiredService<ConversationQueries>().SearchAsync(new ConversationFilter(UserId: "user-" + external), Ct);
        return page.Items.Single().Id;
    }

    // Pages render over the live circuit (no prerendering), so their content is checked by the bUnit and browser tests;
    // here: who is let in, and that the first response carries no data it should not.
    [Fact]
    public async Task ConversationPage_Reviewer_IsServed()
    {
        var id = await SeedAsync("ops-transcript", "words only a reviewer sees");
        using var client = await SignedInAsync(AdminRoles.Reviewer);

        using var response = await client.GetAsync(new Uri($"/admin/conversations/{id}", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("_framework/blazor.web.js", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/admin/conversations/{0}")]
    [InlineData("/admin/safety")]
    [InlineData("/admin/channels")]
    public async Task OperationsPages_Viewer_AreDeniedWithoutData(string path)
    {
        var id = await SeedAsync("ops-viewer-" + Guid.NewGuid().ToString("N")[..6], "hidden from viewers");
        using var client = await SignedInAsync(AdminRoles.Viewer);

        using var response = await client.GetAsync(new Uri(string.Format(System.Globalization.CultureInfo.InvariantCulture, path, id), UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/admin/denied", response.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
        Assert.DoesNotContain("hidden from viewers", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(AdminRoles.Viewer, "/admin")]
    [InlineData(AdminRoles.Reviewer, "/admin/safety")]
    [InlineData(AdminRoles.Admin, "/admin/channels")]
    public async Task OperationsPages_AllowedRole_AreServedWithoutSecrets(string role, string path)
    {
        using var client = await SignedInAsync(role);

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(SlackSecret, await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExportApi_ByRole_ReviewerGetsTheFileViewerAndAnonymousDoNot()
    {
        var id = await SeedAsync("ops-export", "exported words");
        var url = new Uri($"/admin/api/conversations/{id}/export", UriKind.Relative);
        using var anonymous = AdminLogin.Client(_factory);
        using var viewer = await SignedInAsync(AdminRoles.Viewer);
        using var reviewer = await SignedInAsync(AdminRoles.Reviewer);

        using var anonymousResponse = await anonymous.GetAsync(url, Ct);
        using var viewerResponse = await viewer.GetAsync(url, Ct);
        using var reviewerResponse = await reviewer.GetAsync(url, Ct);
        using var missing = await reviewer.GetAsync(new Uri("/admin/api/conversations/999999/export", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymousResponse.StatusCode);
        Assert.DoesNotContain("exported words", await anonymousResponse.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, viewerResponse.StatusCode);
        Assert.Equal(HttpStatusCode.OK, reviewerResponse.StatusCode);
        Assert.Equal($"conversation-{id}.json", reviewerResponse.Content.Headers.ContentDisposition?.FileName);
        Assert.Contains("exported words", await reviewerResponse.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
