using System.Net.Http.Json;
using System.Net;
using ChatPlatform.Admin.Personas;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using ChatPlatform.Data.Personas;
using ChatPlatform.Data;
using ChatPlatform.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests.Admin;

/// <summary>The persona editor's crisis resources through the real host: draft, activate, and the crisis reply of POST /api/chat.</summary>
public sealed class CrisisResourcesConsoleTests(ServerFactory factory) : IClassFixture<ServerFactory>
{
    private const string Persona = "mindchat";
    private const string Own = "Please call the Lakeside student crisis line on 555-0142, open day and night. You are not alone.";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<string> ChatAsync(HttpClient client, string conversation, string text, string locale)
    {
        using var response = await client.PostAsJsonAsync("/api/chat", new { persona = Persona, conversationId = conversation, text, locale }, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync(Ct);
    }

    [Fact]
    public async Task ActivateDraft_EditedCrisisResources_ChangeTheCrisisReplyOfChatForThatLocaleOnly()
    {
        // Any model call fails the test: the crisis protocol answers by itself, with the pack's text or the shared one.
        var model = new ScriptedChatClient("model text") { FailWith = new InvalidOperationException("the model was called") };
        await using var app = factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<IChatClient>(model)));
        using var client = app.CreateClient();
        var versions = app.Services.GetRequiredService<PersonaVersions>();
        var before = app.Services.GetRequiredService<IPersonaCatalog>().Find(Persona)!;
        Assert.DoesNotContain("555-0142", await ChatAsync(client, "crisis-before", "I want to kill myself tonight", "en"), StringComparison.Ordinal);

        var draft = await versions.GetOrCreateDraftAsync(Persona, "editor-crisis", Ct);
        var form = PersonaForm.From(PackFiles.Parse(draft.Content));
        Assert.Equal("", form.CrisisResources["en"]);
        form.CrisisResources["en"] = Own;
        await versions.SaveDraftAsync(Persona, form.ApplyTo(PackFiles.Parse(draft.Content)), "editor-crisis", Ct);
        var activated = await versions.ActivateDraftAsync(Persona, "editor-crisis", Ct);

        Assert.True(activated.Succeeded, string.Join("; ", activated.Problems));
        var english = await ChatAsync(client, "crisis-after-en", "I want to kill myself tonight", "en");
        var chinese = await ChatAsync(client, "crisis-after-zh", "我 不 想 活 了", "zh-CN");
        Assert.Contains("555-0142", english, StringComparison.Ordinal);
        Assert.Contains("Lakeside student crisis line", english, StringComparison.Ordinal);
        Assert.DoesNotContain("988", english, StringComparison.Ordinal);
        Assert.Contains("12356", chinese, StringComparison.Ordinal);
        Assert.DoesNotContain("555-0142", chinese, StringComparison.Ordinal);
        Assert.Empty(model.Calls);

        // Nothing else of the persona changed.
        var after = app.Services.GetRequiredService<IPersonaCatalog>().Find(Persona)!;
        Assert.Equal(Own, after.CrisisResourcesFor("en"));
        Assert.Null(after.CrisisResourcesFor("zh-CN"));
        Assert.Equal(before.Greeting, after.Greeting);
        Assert.Equal(before.SystemPrompt, after.SystemPrompt);
        Assert.Equal(before.Safety.Rails.Order(StringComparer.Ordinal), after.Safety.Rails.Order(StringComparer.Ordinal));
        Assert.Equal(before.Safety.Disclaimer, after.Safety.Disclaimer);
        Assert.Equal(before.Safety.OutOfScope, after.Safety.OutOfScope);
        Assert.Equal(before.Safety.Thresholds, after.Safety.Thresholds);
        Assert.Equal(before.Safety.Crisis with { Resources = after.Safety.Crisis.Resources }, after.Safety.Crisis);
        Assert.Equal(before.Generation with { Stop = after.Generation.Stop }, after.Generation);
        Assert.Equal(before.Generation.Stop, after.Generation.Stop);
        Assert.Equal(before.Channels.Order(StringComparer.Ordinal), after.Channels.Order(StringComparer.Ordinal));

        await using var db = await app.Services.GetRequiredService<IDbContextFactory<ChatDbContext>>().CreateDbContextAsync(Ct);
        var audit = await db.AuditLog.Where(a => a.Actor == "editor-crisis").Select(a => new { a.Action, a.Details }).ToListAsync(Ct);
        Assert.Contains(audit, a => a.Action == "persona.draft.save" && a.Details!.Contains("safety.yaml", StringComparison.Ordinal));
        Assert.Contains(audit, a => a.Action == "persona.activate");
    }
}
