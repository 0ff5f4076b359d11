using Bunit;
using ChatPlatform.Admin.Components.Personas;
using ChatPlatform.Admin.Personas;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Knowledge;
using ChatPlatform.Core.Personas;
using ChatPlatform.Inference.Local;
using ChatPlatform.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests.Admin;

public sealed class PersonaComponentTests : MudComponentTests
{

    [Fact]
    public void LocaleTextField_NoLocalModel_ShowsLabelledEstimate()
    {
        Context.Services.AddSingleton<TokenCounter>();

        var field = Context.Render<LocaleTextField>(p => p
            .Add(c => c.Label, "Greeting (en)").Add(c => c.TestId, "greeting-en").Add(c => c.Value, "Twelve chars"));

        Assert.Equal("about 3 tokens (estimate: no local model loaded)", field.Find("[data-testid=greeting-en-tokens]").TextContent.Trim());
    }

    [Fact]
    public void LocaleTextField_RemoteBackend_ShowsLabelledEstimate()
    {
        Context.Services.AddSingleton<ILoadedModel>(NoLoadedModel.Instance);
        Context.Services.AddSingleton<TokenCounter>();

        var field = Context.Render<LocaleTextField>(p => p
            .Add(c => c.Label, "Greeting (en)").Add(c => c.TestId, "greeting-en").Add(c => c.Value, "你好, twelve"));

        Assert.Equal("about 4 tokens (estimate: no local model loaded)", field.Find("[data-testid=greeting-en-tokens]").TextContent.Trim());
    }

    [Fact]
    public void LocaleTextField_LocalModelLoaded_CountsWithItsTokenizer()
    {
        using var model = LocalModel.Load(TestModels.TinyPath, 1);
        Context.Services.AddSingleton<ILoadedModel>(new LoadedLocalModel(model));
        Context.Services.AddSingleton<TokenCounter>();
        const string text = "How do I choose a graduate programme?";
        var expected = model.Weights.Tokenize(text, false, false, System.Text.Encoding.UTF8).Length;

        var field = Context.Render<LocaleTextField>(p => p
            .Add(c => c.Label, "System prompt (en)").Add(c => c.TestId, "system-en").Add(c => c.Value, text));

        Assert.Equal($"{expected} tokens", field.Find("[data-testid=system-en-tokens]").TextContent.Trim());
    }

    [Fact]
    public void LocaleTextField_Typing_UpdatesCountAndRaisesValueChanged()
    {
        Context.Services.AddSingleton<TokenCounter>();
        string? changed = null;
        var field = Context.Render<LocaleTextField>(p => p
            .Add(c => c.Label, "Greeting (en)").Add(c => c.TestId, "g").Add(c => c.Value, "")
            .Add(c => c.ValueChanged, (string v) => changed = v));

        field.Find("input").Input("Sixteen letters!");

        Assert.Equal("Sixteen letters!", changed);
        Assert.StartsWith("about 4 tokens", field.Find("[data-testid=g-tokens]").TextContent.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public void PackFindings_Problems_ListsEachWithFileAndLineInsideThePack()
    {
        IReadOnlyList<PackProblem> problems =
        [
            new("x1y2/personas/gradchat/persona.yaml", 12, "generation.temperature must be between 0 and 2"),
            new("x1y2/personas/gradchat/system.en.md", 0, "file is empty"),
        ];

        var findings = Context.Render<PackFindings>(p => p.Add(c => c.Problems, problems));

        var items = findings.FindAll("li");
        Assert.Contains("2 problems", findings.Find("[data-testid=validation-problems]").TextContent, StringComparison.Ordinal);
        Assert.Equal("persona.yaml:12 generation.temperature must be between 0 and 2", items[0].TextContent.Trim());
        Assert.Equal("system.en.md file is empty", items[1].TextContent.Trim());
    }

    [Fact]
    public void PackFindings_NoProblemsOrNotRun_ShowsSuccessOrNothing()
    {
        var clean = Context.Render<PackFindings>(p => p.Add(c => c.Problems, Array.Empty<PackProblem>()));
        var notRun = Context.Render<PackFindings>(p => p.Add(c => c.Problems, null));

        Assert.Single(clean.FindAll("[data-testid=validation-ok]"));
        Assert.Equal("", notRun.Markup.Trim());
    }

    [Fact]
    public void EvalResults_MixedOutcomes_CountsPassesAndShowsWhy()
    {
        IReadOnlyList<EvalOutcome> outcomes =
        [
            new("greets", "en", true, "passed", "Hi", []),
            new("crisis-en", "en", false, "expected the crisis rail, got none", "…", []),
        ];

        var results = Context.Render<EvalResults>(p => p.Add(c => c.Outcomes, outcomes));

        Assert.Equal("Evals: 1 of 2 passed", results.Find("[data-testid=eval-summary]").TextContent.Trim());
        Assert.Contains("fail", results.Find("[data-testid=eval-crisis-en]").TextContent, StringComparison.Ordinal);
        Assert.Contains("expected the crisis rail", results.Find("[data-testid=eval-crisis-en]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void PlaygroundColumn_Reply_ShowsRailsSpeedAndEmptyPassageSlot()
    {
        var turn = new PlaygroundTurn("I want to die") { Text = "Please call…", Reply = new ProbeReply("Please call…", "safety", ["crisis"], [], null, 3.2, null, null) };

        var column = Context.Render<PlaygroundColumn>(p => p.Add(c => c.Title, "Live").Add(c => c.Turns, new[] { turn }));

        Assert.Equal("rails: crisis", column.Find("[data-testid=rails]").TextContent.Trim());
        Assert.Contains("Retrieved passages: none", column.Find("[data-testid=passages]").TextContent, StringComparison.Ordinal);
        Assert.Contains("3 ms", column.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public void PlaygroundColumn_GroundedReply_ListsSourcesWithLinks()
    {
        Citation[] sources =
        [
            new(1, "guide.md#Deadlines", "Admissions guide", "Deadlines", 3, "https://example.edu/admissions"),
            new(2, "notes.txt#", "Internal notes", null, null, null),
        ];
        var turn = new PlaygroundTurn("When is the deadline?") { Text = "30 June [1].", Reply = new ProbeReply("30 June [1].", "stop", [], sources, 4, 12, 8, null) };

        var column = Context.Render<PlaygroundColumn>(p => p.Add(c => c.Title, "Draft").Add(c => c.Turns, new[] { turn }));

        var items = column.FindAll("[data-testid=passage]");
        Assert.Equal(2, items.Count);
        Assert.Contains("[1]", items[0].TextContent, StringComparison.Ordinal);
        var link = items[0].QuerySelector("a")!;
        Assert.Equal("https://example.edu/admissions", link.GetAttribute("href"));
        Assert.Equal("Admissions guide — Deadlines, p. 3", link.TextContent.Trim());
        Assert.Null(items[1].QuerySelector("a"));
        Assert.Contains("Internal notes", items[1].TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void CrisisResourcesField_Empty_ShowsSharedTextAsPlaceholderAndCanStartFromIt()
    {
        const string shared = "Call or text 988 (US).";
        string? changed = null;
        var field = Context.Render<CrisisResourcesField>(p => p
            .Add(c => c.Locale, "en").Add(c => c.TestId, "crisis-en").Add(c => c.Value, "").Add(c => c.SharedDefault, shared)
            .Add(c => c.ValueChanged, (string v) => changed = v));

        Assert.Equal(shared, field.Find("textarea").GetAttribute("placeholder"));
        Assert.Empty(field.FindAll("[data-testid=crisis-en-no-contact]"));

        field.Find("[data-testid=crisis-en-copy] button, button[data-testid=crisis-en-copy]").Click();

        Assert.Equal(shared, changed);
    }

    [Fact]
    public void CrisisResourcesField_TypingTextWithoutContact_WarnsAndRaisesValueChanged()
    {
        string? changed = null;
        var field = Context.Render<CrisisResourcesField>(p => p
            .Add(c => c.Locale, "en").Add(c => c.TestId, "crisis-en").Add(c => c.Value, "").Add(c => c.SharedDefault, "Call 988.")
            .Add(c => c.ValueChanged, (string v) => changed = v));

        field.Find("textarea").Input("Please talk to a friend.");

        Assert.Equal("Please talk to a friend.", changed);
        Assert.Single(field.FindAll("[data-testid=crisis-en-no-contact]"));
        field.Find("textarea").Input("Please call 555-0142.");
        Assert.Empty(field.FindAll("[data-testid=crisis-en-no-contact]"));
    }

    [Fact]
    public void CrisisResourcesField_ValidateProblems_ShowsOnlyThoseOfItsLocale()
    {
        IReadOnlyList<PackProblem> problems =
        [
            new("personas/mindchat/safety.yaml", 21, "crisis.resources.en gives no way to reach a person: include a phone number"),
            new("personas/mindchat/safety.yaml", 22, "crisis.resources.zh-CN must be non-empty text, got nothing"),
            new("personas/mindchat/persona.yaml", 3, "name is required"),
        ];

        var field = Context.Render<CrisisResourcesField>(p => p
            .Add(c => c.Locale, "en").Add(c => c.TestId, "crisis-en").Add(c => c.Value, "Talk to a friend.").Add(c => c.Problems, problems));

        var shown = Assert.Single(field.FindAll("[data-testid=crisis-en-problem]"));
        Assert.Contains("safety.yaml:21: crisis.resources.en gives no way", shown.TextContent, StringComparison.Ordinal);
    }
}
