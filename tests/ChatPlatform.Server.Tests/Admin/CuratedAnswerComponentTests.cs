using Bunit;
using ChatPlatform.Admin.Components.Knowledge;
using ChatPlatform.Admin.Components.Personas;
using ChatPlatform.Admin.Knowledge;
using ChatPlatform.Admin.Personas;
using ChatPlatform.Core.Personas;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using Xunit;

namespace ChatPlatform.Server.Tests.Admin;

/// <summary>"Make curated answer" in the playground and the hand-written form: what is offered, to whom, and what is saved.</summary>
public sealed class CuratedAnswerComponentTests : MudComponentTests
{

    private static PlaygroundTurn Finished(string user, string reply, string finish = "stop") =>
        new(user) { Text = reply, Reply = new ProbeReply(reply, finish, finish == "safety" ? ["crisis"] : [], [], 5, 10, 20, null) };

    [Fact]
    public void PlaygroundColumn_WithCurateCallback_OffersActionOnFinishedModelRepliesAndPassesTheTurn()
    {
        var answered = Finished("When is the deadline?", "On 15 January.");
        var crisis = Finished("I want to die", "Please call 988.", "safety");
        var streaming = new PlaygroundTurn("And the fee?") { Text = "It is" };
        PlaygroundTurn? chosen = null;

        var column = Context.Render<PlaygroundColumn>(p => p.Add(c => c.Title, "Live").Add(c => c.Turns, new[] { answered, crisis, streaming })
            .Add(c => c.OnMakeCurated, EventCallback.Factory.Create<PlaygroundTurn>(this, t => chosen = t)));

        var button = Assert.Single(column.FindAll("[data-testid=make-curated]"));
        button.Click();
        Assert.Same(answered, chosen);
    }

    [Fact]
    public void PlaygroundColumn_WithoutCurateCallback_OffersNoAction()
    {
        // The playground leaves the callback out for an account the Personas policy does not admit, and on the draft side.
        var column = Context.Render<PlaygroundColumn>(p => p.Add(c => c.Title, "Draft").Add(c => c.Turns, new[] { Finished("Q?", "A.") }));

        Assert.Empty(column.FindAll("[data-testid=make-curated]"));
    }

    [Fact]
    public void CuratedAnswerForm_BlankAnswer_CannotSaveUntilFilledThenHandsOnTheDraft()
    {
        CuratedAnswerDraft? saved = null;
        var form = Context.Render<CuratedAnswerForm>(p => p.Add(c => c.TestId, "f")
            .Add(c => c.OnSave, EventCallback.Factory.Create<CuratedAnswerDraft>(this, d => saved = d)));

        form.Find("#f-question").Input("Where is the library?");
        Assert.True(form.Find("button[data-testid=f-save]").HasAttribute("disabled"));

        form.Find("#f-answer").Input("Building 4, ground floor.");
        form.Find("#f-source").Input("Campus map 2026");
        form.Find("button[data-testid=f-save]").Click();

        Assert.Equal(new CuratedAnswerDraft("Where is the library?", "Building 4, ground floor.", "Campus map 2026"), saved);
        Assert.Equal("Building 4, ground floor.\n\nSource: Campus map 2026", saved!.StoredAnswer);
    }

    [Fact]
    public async Task CuratedAnswerDialog_FromATurn_StartsWithQuestionAndReplyAndClosesWithTheEditedDraft()
    {
        var provider = Context.Render<MudDialogProvider>();
        var dialogs = Context.Services.GetRequiredService<IDialogService>();
        var turn = Finished("How do I defer my offer?", "Write to admissions before 1 June.");
        var initial = new CuratedAnswerDraft(turn.User, turn.Text, null, "en");

        var reference = await provider.InvokeAsync(() => dialogs.ShowAsync<CuratedAnswerDialog>("Make curated answer",
            new DialogParameters<CuratedAnswerDialog> { { d => d.Initial, initial } }));

        Assert.Equal("How do I defer my offer?", provider.Find("#curated-dialog-question").GetAttribute("value") ?? provider.Find("#curated-dialog-question").TextContent);
        provider.Find("#curated-dialog-answer").Input("Write to admissions before 1 June; the offer then holds for a year.");
        provider.Find("button[data-testid=curated-dialog-save]").Click();
        var result = await reference.Result;

        Assert.False(result!.Canceled);
        Assert.Equal(new CuratedAnswerDraft("How do I defer my offer?", "Write to admissions before 1 June; the offer then holds for a year.", null, "en"), result.Data);
    }

    [Fact]
    public async Task CuratedAnswerDialog_Cancel_SavesNothing()
    {
        var provider = Context.Render<MudDialogProvider>();
        var dialogs = Context.Services.GetRequiredService<IDialogService>();

        var reference = await provider.InvokeAsync(() => dialogs.ShowAsync<CuratedAnswerDialog>("Make curated answer",
            new DialogParameters<CuratedAnswerDialog> { { d => d.Initial, new CuratedAnswerDraft("Q?", "A.") } }));
        provider.Find("button[data-testid=curated-dialog-cancel]").Click();

        Assert.True((await reference.Result)!.Canceled);
    }

    [Theory]
    [InlineData("", "A.", null, null, "The question is empty.")]
    [InlineData("Q?", "  ", null, null, "The answer is empty.")]
    [InlineData("Q?", "A.", "line one\nline two", null, "The source must be one line")]
    [InlineData("Q?", "A.", null, "fr", "Unknown locale 'fr'")]
    [InlineData("Q?", "A.", "https://example.edu/faq", "zh-CN", null)]
    public void CuratedAnswerDraft_Problem_NamesWhatIsWrong(string question, string answer, string? source, string? locale, string? expected)
    {
        var problem = new CuratedAnswerDraft(question, answer, source, locale).Problem;

        if (expected is null) Assert.Null(problem);
        else Assert.StartsWith(expected, problem, StringComparison.Ordinal);
    }
}
