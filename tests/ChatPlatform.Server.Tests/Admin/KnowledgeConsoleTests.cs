using System.Net;
using System.Net.Http.Json;
using System.Text;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Personas;
using ChatPlatform.Data;
using ChatPlatform.Data.Admin;
using ChatPlatform.Data.Conversations;
using ChatPlatform.Knowledge;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests.Admin;

/// <summary>The console's knowledge page and API through the real host: who is let in, uploads, refusals, the audit log.</summary>
public sealed class KnowledgeConsoleTests(ServerFactory factory) : IClassFixture<ServerFactory>
{
    private const string Persona = "gradchat";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<HttpClient> SignedInAsync(string role)
    {
        var user = role.ToLowerInvariant() + "-" + Guid.NewGuid().ToString("N")[..8];
        var password = await AdminLogin.CreateAccountAsync(factory, user, role, Ct);
        var client = AdminLogin.Client(factory);
        await AdminLogin.SignInAsync(client, user, password, Ct);
        return client;
    }

    private static Uri Document(string name) => new($"/admin/api/personas/{Persona}/knowledge/documents/{name}", UriKind.Relative);

    private static ByteArrayContent Body(byte[] bytes) => new(bytes) { Headers = { ContentType = new("application/octet-stream") } };

    [Fact]
    public async Task UploadDocument_EditorMarkdown_BecomesSearchableAndIsAudited()
    {
        using var client = await SignedInAsync(AdminRoles.Editor);
        var markdown = "# Console upload\n\n## Library hours\n\nThe zephyrine reading room opens at seven and closes at midnight.\n"u8.ToArray();

        using var response = await client.PutAsync(Document("console-upload.md"), Body(markdown), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var upload = await response.Content.ReadFromJsonAsync<ChatPlatform.Admin.Knowledge.KnowledgeUpload>(Ct);
        Assert.Equal("Added", upload!.Status);
        Assert.True(upload.Chunks >= 1);
        var ranking = await factory.Services.GetRequiredService<KnowledgeBase>().RankAsync(Persona, "When does the zephyrine reading room open?", new KnowledgeSettings(), 5, Ct);
        Assert.StartsWith("console-upload.md#", ranking.Passages[0].Id, StringComparison.Ordinal);
        var listed = await client.GetStringAsync(new Uri($"/admin/api/personas/{Persona}/knowledge/documents", UriKind.Relative), Ct);
        Assert.Contains("console-upload.md", listed, StringComparison.Ordinal);
        await using var db = await factory.Services.GetRequiredService<IDbContextFactory<ChatDbContext>>().CreateDbContextAsync(Ct);
        Assert.True(await db.AuditLog.AnyAsync(a => a.Action == "knowledge.document.import" && a.Target == "admin:" + Persona + "/console-upload.md", Ct));
    }

    [Fact]
    public async Task UploadDocument_NotUtf8_BadRequestWithOneLineAndNothingStored()
    {
        using var client = await SignedInAsync(AdminRoles.Editor);

        using var response = await client.PutAsync(Document("broken.txt"), Body([0x41, 0xC3, 0x28, 0xFF, 0xFE, 0x80]), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("broken.txt", body, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        var documents = await factory.Services.GetRequiredService<KnowledgeBase>().ListAsync(Persona, Ct);
        Assert.DoesNotContain(documents, d => d.Source == "broken.txt");
    }

    [Fact]
    public async Task UploadDocument_UnsupportedType_BadRequestNamingTheType()
    {
        using var client = await SignedInAsync(AdminRoles.Admin);

        using var response = await client.PutAsync(Document("slides.pptx"), Body([1, 2, 3]), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("unsupported file type '.pptx'", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task KnowledgeApiAndPage_Viewer_AreDenied()
    {
        using var client = await SignedInAsync(AdminRoles.Viewer);

        using var upload = await client.PutAsync(Document("viewer.md"), Body("# Viewer\n\ntext"u8.ToArray()), Ct);
        using var list = await client.GetAsync(new Uri($"/admin/api/personas/{Persona}/knowledge/documents", UriKind.Relative), Ct);
        using var page = await client.GetAsync(new Uri($"/admin/personas/{Persona}/knowledge", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.Forbidden, upload.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.StartsWith("/admin/denied", page.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
        Assert.DoesNotContain(await factory.Services.GetRequiredService<KnowledgeBase>().ListAsync(Persona, Ct), d => d.Source == "viewer.md");
    }

    [Fact]
    public async Task KnowledgeApiAndPage_Anonymous_401AndRedirectToLogin()
    {
        using var client = AdminLogin.Client(factory);

        using var upload = await client.PutAsync(Document("anonymous.md"), Body("# Anonymous\n\ntext"u8.ToArray()), Ct);
        using var page = await client.GetAsync(new Uri($"/admin/personas/{Persona}/knowledge", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, upload.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.StartsWith("/admin/login", page.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CurateReplyAsync_StoredReply_BecomesCuratedAnswerAndIsAudited()
    {
        using var started = AdminLogin.Client(factory); // starts the host and its schema
        var store = factory.Services.GetRequiredService<IConversationStore>();
        await store.OpenAsync("web", "curate-1", Persona, "en", "user-curate", Ct);
        await store.AppendAsync("web", "curate-1", new StoredMessage("user", "Where is the quokka office?", DateTimeOffset.UtcNow), new MessageDetails(), Ct);
        await store.AppendAsync("web", "curate-1", new StoredMessage("assistant", "In building 4, room 12.", DateTimeOffset.UtcNow), new MessageDetails(), Ct);
        var conversation = (await factory.Services.GetRequiredService<ConversationQueries>().SearchAsync(new ConversationFilter(UserId: "user-curate"), Ct)).Items.Single();
        var transcript = await factory.Services.GetRequiredService<ConversationQueries>().GetTranscriptAsync(conversation.Id, Ct);
        var reply = transcript!.Messages.Single(m => m.Role == "assistant");

        var saved = await factory.Services.GetRequiredService<ChatPlatform.Admin.Knowledge.KnowledgeConsole>().CurateReplyAsync(reply.Id, "editor-a", Ct);

        Assert.Equal("Where is the quokka office?", saved.Question);
        Assert.Equal("In building 4, room 12.", saved.Answer);
        await using var db = await factory.Services.GetRequiredService<IDbContextFactory<ChatDbContext>>().CreateDbContextAsync(Ct);
        Assert.True(await db.AuditLog.AnyAsync(a => a.Action == "knowledge.curated.from_reply" && a.Actor == "editor-a", Ct));
    }

    private static Uri Curated => new($"/admin/api/personas/{Persona}/knowledge/curated", UriKind.Relative);

    [Fact]
    public async Task AddCurated_Editor_CreatedAuditedAndAnsweredInChat()
    {
        using var client = await SignedInAsync(AdminRoles.Editor);
        const string question = "Where does the wombat society meet on Thursdays?";

        using var response = await client.PostAsJsonAsync(Curated,
            new { question, answer = "In the east hall, room 7, at six.", source = "Society handbook 2026", locale = "en" }, Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var saved = await response.Content.ReadFromJsonAsync<CuratedAnswerInfo>(Ct);
        Assert.Equal("In the east hall, room 7, at six.\n\nSource: Society handbook 2026", saved!.Answer);
        Assert.Contains(await factory.Services.GetRequiredService<KnowledgeBase>().ListCuratedAsync(Persona, Ct), a => a.Question == question && a.Author.StartsWith("editor-", StringComparison.Ordinal));
        await using (var db = await factory.Services.GetRequiredService<IDbContextFactory<ChatDbContext>>().CreateDbContextAsync(Ct))
            Assert.True(await db.AuditLog.AnyAsync(a => a.Action == "knowledge.curated.add" && a.Target == $"admin:{Persona}/{saved.Id}", Ct));
        using var chat = await client.PostAsJsonAsync("/api/chat", new { persona = Persona, conversationId = "curated-add-1", text = question, locale = "en" }, Ct);
        var body = await chat.Content.ReadAsStringAsync(Ct);
        Assert.Contains("room 7, at six", body, StringComparison.Ordinal);
        Assert.Contains("curated", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(AdminRoles.Viewer)]
    [InlineData(AdminRoles.Reviewer)]
    public async Task AddCurated_ViewerOrReviewer_ForbiddenAndNothingStored(string role)
    {
        using var client = await SignedInAsync(role);
        var question = $"Can a {role} add this curated answer?";

        using var response = await client.PostAsJsonAsync(Curated, new { question, answer = "No." }, Ct);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.DoesNotContain(await factory.Services.GetRequiredService<KnowledgeBase>().ListCuratedAsync(Persona, Ct), a => a.Question == question);
    }

    [Fact]
    public async Task AddCuratedAsync_ConsoleCalledForAReviewer_RefusedWhateverThePageShowed()
    {
        using var started = AdminLogin.Client(factory);
        var reviewer = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(
            [new(System.Security.Claims.ClaimTypes.Name, "reviewer-x"), new(System.Security.Claims.ClaimTypes.Role, AdminRoles.Reviewer)], "test"));
        var console = factory.Services.GetRequiredService<ChatPlatform.Admin.Knowledge.KnowledgeConsole>();

        await Assert.ThrowsAsync<UnauthorizedAccessException>(() =>
            console.AddCuratedAsync(Persona, new ChatPlatform.Admin.Knowledge.CuratedAnswerDraft("Reviewer question?", "Reviewer answer."), reviewer, "playground", Ct));

        Assert.DoesNotContain(await factory.Services.GetRequiredService<KnowledgeBase>().ListCuratedAsync(Persona, Ct), a => a.Question == "Reviewer question?");
    }

    [Fact]
    public async Task AddCurated_UnknownPersona_NotFoundAndNothingStored()
    {
        using var client = await SignedInAsync(AdminRoles.Editor);

        using var response = await client.PostAsJsonAsync(new Uri("/admin/api/personas/nobot/knowledge/curated", UriKind.Relative),
            new { question = "Anyone there?", answer = "No." }, Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("no persona 'nobot'", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Empty(await factory.Services.GetRequiredService<KnowledgeBase>().ListCuratedAsync("nobot", Ct));
    }

    [Fact]
    public async Task Documents_UnknownPersona_NotFoundAndNothingStored()
    {
        using var client = await SignedInAsync(AdminRoles.Editor);
        var markdown = "# Stray\n\n## Hours\n\nOpen at nine.\n"u8.ToArray();

        using var upload = await client.PutAsync(new Uri("/admin/api/personas/nobot/knowledge/documents/stray.md", UriKind.Relative), Body(markdown), Ct);
        using var list = await client.GetAsync(new Uri("/admin/api/personas/nobot/knowledge/documents", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.NotFound, upload.StatusCode);
        Assert.Contains("no persona 'nobot'", await upload.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, list.StatusCode);
        Assert.Empty(await factory.Services.GetRequiredService<KnowledgeBase>().ListAsync("nobot", Ct));
    }

    [Fact]
    public async Task AddCurated_BlankAnswer_BadRequestNamingIt()
    {
        using var client = await SignedInAsync(AdminRoles.Admin);

        using var response = await client.PostAsJsonAsync(Curated, new { question = "Anything?", answer = " " }, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("The answer is empty.", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }
}
