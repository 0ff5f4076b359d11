using Bunit;
using ChatPlatform.Admin.Components.Pages.Knowledge;
using ChatPlatform.Admin.Components.Pages.Personas;
using ChatPlatform.Admin.Components.Pages;
using ChatPlatform.Admin.Knowledge;
using ChatPlatform.Admin.Personas;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using ChatPlatform.Data.Admin;
using ChatPlatform.Data.Personas;
using ChatPlatform.Knowledge;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests.Admin;

/// <summary>
/// The editor's crisis resources and the Knowledge page's hand-written curated answer, rendered with the real host's
/// services (versions, validator, knowledge store, authorization) as an Editor.
/// </summary>
public sealed class ConsolePageRenderTests : MudComponentTests, IClassFixture<ServerFactory>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly ServerFactory _factory;

    public ConsolePageRenderTests(ServerFactory factory)
    {
        _factory = factory;
        using var started = factory.CreateClient(); // starts the host: schema, versions of the reference packs
        var host = factory.Services;
        Context.Services.AddSingleton(host.GetRequiredService<PersonaVersions>());
        Context.Services.AddSingleton(host.GetRequiredService<PersonaProbe>());
        Context.Services.AddSingleton(host.GetRequiredService<AdapterUploads>());
        Context.Services.AddSingleton(host.GetRequiredService<AdapterTrainingRuns>());
        Context.Services.AddSingleton(host.GetRequiredService<ChatPlatform.Data.Conversations.ConversationQueries>());
        Context.Services.AddSingleton(host.GetRequiredService<TokenCounter>());
        Context.Services.AddSingleton(host.GetRequiredService<IPersonaCatalog>());
        Context.Services.AddSingleton(host.GetRequiredService<IInputSafety>());
        Context.Services.AddSingleton(host.GetRequiredService<KnowledgeConsole>());
    }

    /// <summary>
    /// The playground's probe with the host's rails, store and knowledge, over a model that gives <paramref name="reply"/>:
    /// the generated test model's random text may be empty, and an empty reply offers no "make curated answer".
    /// </summary>
    private void UseScriptedModel(string reply) =>
        Context.Services.AddSingleton(new PersonaProbe(ActivatorUtilities.CreateInstance<ChatPlatform.Core.Chat.ChatPipeline>(_factory.Services,
            (Microsoft.Extensions.AI.IChatClient)new ChatPlatform.Testing.ScriptedChatClient(reply))));

    /// <summary>Signs the rendered pages in with <paramref name="role"/>; the host's own policies decide what it may do.</summary>
    private void SignIn(string user, string role) => AdminLogin.SignInComponents(Context, _factory, user, role);

    /// <summary>
    /// Finds and clicks in one step on the renderer's own thread, so that a render in between (the other playground
    /// column finishing, a dialog opening) cannot replace the button between finding and clicking it.
    /// </summary>
    private static Task ClickAsync<TComponent>(IRenderedComponent<TComponent> component, string selector) where TComponent : IComponent =>
        component.InvokeAsync(() => component.Find(selector).Click());

    /// <summary>Sends one message from the playground and waits for the live side's finished reply.</summary>
    private static void SendAndWait(IRenderedComponent<Playground> playground, string text)
    {
        playground.Find("#playground-message").Input(text);
        ClickAsync(playground, "button[data-testid=playground-send]").GetAwaiter().GetResult();
        playground.WaitForAssertion(() => Assert.Contains("finish:", playground.Find("[data-testid=playground-live]").TextContent, StringComparison.Ordinal), Wait);
    }

    [Fact]
    public void PersonaEditor_CrisisResources_SharedTextAsPlaceholderAndValidateFindingsUnderTheField()
    {
        SignIn("editor-page", AdminRoles.Editor);
        var shared = _factory.Services.GetRequiredService<IInputSafety>().SharedCrisisReplyFor("en");
        var editor = Context.Render<PersonaEditor>(p => p.Add(c => c.PersonaId, "mindchat"));
        editor.WaitForElement("#crisis-resources-en", Wait);

        Assert.Equal(shared, editor.Find("#crisis-resources-en").GetAttribute("placeholder"));
        Assert.Contains("12356", editor.Find("#crisis-resources-zh-CN").GetAttribute("placeholder"), StringComparison.Ordinal);

        editor.Find("#crisis-resources-en").Input("Please talk to someone you trust.");
        editor.Find("button[data-testid=validate]").Click();

        editor.WaitForAssertion(() => Assert.Contains("crisis.resources.en gives no way to reach a person",
            editor.Find("[data-testid=crisis-resources-en-problem]").TextContent, StringComparison.Ordinal), Wait);
        Assert.Empty(editor.FindAll("[data-testid=crisis-resources-zh-CN-problem]"));
    }

    [Fact]
    public async Task KnowledgePage_AddCuratedAnswerByHand_SavedListedAndAttributedToTheEditor()
    {
        SignIn("editor-page", AdminRoles.Editor);
        const string question = "Which building has the numbat archive?";
        var page = Context.Render<KnowledgePage>(p => p.Add(c => c.PersonaId, "gradchat"));
        page.WaitForElement("#add-curated-question", Wait);

        page.Find("#add-curated-question").Input(question);
        page.Find("#add-curated-answer").Input("The library annex, second floor.");
        page.Find("#add-curated-source").Input("Library guide");
        page.Find("button[data-testid=add-curated-save]").Click();

        page.WaitForAssertion(() => Assert.Contains(page.FindAll("[data-testid=curated-answer]"), r => r.TextContent.Contains(question, StringComparison.Ordinal)), Wait);
        var saved = Assert.Single(await _factory.Services.GetRequiredService<KnowledgeBase>().ListCuratedAsync("gradchat", Xunit.TestContext.Current.CancellationToken),
            a => a.Question == question);
        Assert.Equal("The library annex, second floor.\n\nSource: Library guide", saved.Answer);
        Assert.Equal("editor-page", saved.Author);
    }

    [Fact]
    public async Task Playground_EditorMakesCuratedAnswerFromLiveReply_EditedInTheDialogAndSaved()
    {
        SignIn("editor-play", AdminRoles.Editor);
        UseScriptedModel("Block your week into study days.");
        var dialogs = Context.Render<MudBlazor.MudDialogProvider>();
        var snackbar = Context.Render<MudBlazor.MudSnackbarProvider>();
        var playground = Context.Render<Playground>();
        SendAndWait(playground, "How should I plan my study week?");

        await ClickAsync(playground, "[data-testid=playground-live] button[data-testid=make-curated]");
        dialogs.WaitForElement("#curated-dialog-answer", Wait);
        await dialogs.InvokeAsync(() => dialogs.Find("#curated-dialog-answer").Input("Plan five focused days and one day of rest."));
        await ClickAsync(dialogs, "button[data-testid=curated-dialog-save]");

        snackbar.WaitForAssertion(() => Assert.Contains("Saved as a curated answer of gradchat", snackbar.Markup, StringComparison.Ordinal), Wait);
        var curated = await _factory.Services.GetRequiredService<KnowledgeBase>().ListCuratedAsync("gradchat", Xunit.TestContext.Current.CancellationToken);
        var saved = Assert.Single(curated, a => a.Question == "How should I plan my study week?");
        Assert.Equal("Plan five focused days and one day of rest.", saved.Answer);
        Assert.Equal("editor-play", saved.Author);
        Assert.Equal(_factory.Services.GetRequiredService<IPersonaCatalog>().Find("gradchat")!.DefaultLocale, saved.Locale);
    }

    [Fact]
    public void Playground_Reviewer_NoMakeCuratedAnswerOnReplies()
    {
        SignIn("reviewer-play", AdminRoles.Reviewer);
        UseScriptedModel("Start with a list of programmes.");
        var playground = Context.Render<Playground>();
        SendAndWait(playground, "What is a good first step for applications?");

        Assert.Contains("Start with a list of programmes.", playground.Find("[data-testid=playground-live]").TextContent, StringComparison.Ordinal);
        Assert.Empty(playground.FindAll("[data-testid=make-curated]"));
    }
}
