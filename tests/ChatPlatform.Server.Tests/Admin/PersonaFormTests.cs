using ChatPlatform.Admin.Personas;
using ChatPlatform.Core.Personas;
using ChatPlatform.Data.Personas;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Server.Tests.Admin;

public sealed class PersonaFormTests
{
    private static SortedDictionary<string, string> GradChat() =>
        PackFiles.Parse(PersonaVersionSync.ReadContent(Path.Combine(RepoPaths.Personas, "gradchat")));

    [Fact]
    public void ApplyTo_EditedFields_LoadAsAValidPackWithTheNewValues()
    {
        var files = GradChat();
        var form = PersonaForm.From(files);
        form.Greeting["en"] = "Hi: \"quoted\" #not-a-comment";
        form.SystemPrompt["en"] = "Be brief.";
        form.Temperature = 0.3;
        form.Channels.Remove("slack");
        form.Rails.Remove(SafetyRails.Output);
        form.Disclaimer["en"] = "New disclaimer.";
        var work = Directory.CreateTempSubdirectory("persona-form-").FullName;
        try
        {
            var loaded = PackFiles.Check(form.ApplyTo(files), "gradchat", work, []);

            Assert.Empty(loaded.Problems);
            var pack = loaded.Pack!;
            Assert.Equal("Hi: \"quoted\" #not-a-comment", pack.Greeting["en"]);
            Assert.Equal(files["persona.yaml"].Contains("你好", StringComparison.Ordinal), pack.Greeting["zh-CN"].Contains("你好", StringComparison.Ordinal));
            Assert.Equal("Be brief.", pack.SystemPrompt["en"]);
            Assert.Equal(0.3f, pack.Generation.Temperature);
            Assert.DoesNotContain("slack", pack.Channels);
            Assert.DoesNotContain(SafetyRails.Output, pack.Safety.Rails);
            Assert.Equal("New disclaimer.", pack.Safety.Disclaimer["en"]);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public void ApplyTo_Thresholds_SetAndClearedPerRail()
    {
        var mindchat = PackFiles.Parse(PersonaVersionSync.ReadContent(Path.Combine(RepoPaths.Personas, "mindchat")));
        var form = PersonaForm.From(mindchat);
        Assert.Equal(0.35, form.Thresholds[SafetyRails.Crisis]);
        form.Thresholds[SafetyRails.Crisis] = null;
        form.Thresholds[SafetyRails.Injection] = 0.8;
        var work = Directory.CreateTempSubdirectory("persona-form-").FullName;
        try
        {
            var loaded = PackFiles.Check(form.ApplyTo(mindchat), "mindchat", work, []);

            Assert.Empty(loaded.Problems);
            Assert.False(loaded.Pack!.Safety.Thresholds.ContainsKey(SafetyRails.Crisis));
            Assert.Equal(0.8f, loaded.Pack.Safety.Thresholds[SafetyRails.Injection]);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public void ApplyTo_CrisisThresholdRaised_ValidatorRefusesIt()
    {
        var files = GradChat();
        var form = PersonaForm.From(files);
        form.Thresholds[SafetyRails.Crisis] = 0.9;
        var work = Directory.CreateTempSubdirectory("persona-form-").FullName;
        try
        {
            var loaded = PackFiles.Check(form.ApplyTo(files), "gradchat", work, []);

            Assert.Null(loaded.Pack);
            Assert.Contains(loaded.Problems, p => p.Message.Contains("may only make the crisis rail more sensitive", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public void ApplyTo_RailRemovedThatAnEvalExpects_ValidatorNamesTheEval()
    {
        var files = GradChat();
        var form = PersonaForm.From(files);
        form.Rails.Remove(SafetyRails.Scope);
        var work = Directory.CreateTempSubdirectory("persona-form-").FullName;
        try
        {
            var loaded = PackFiles.Check(form.ApplyTo(files), "gradchat", work, []);

            Assert.Null(loaded.Pack);
            Assert.Contains(loaded.Problems, p => p.Path.EndsWith("evals/safety.jsonl", StringComparison.Ordinal) && p.Message.Contains("'scope'", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public void From_ReferencePack_ReadsEveryLocale()
    {
        var form = PersonaForm.From(GradChat());

        Assert.Equal(["zh-CN", "en"], form.Locales);
        Assert.StartsWith("Hi, I'm GradChat", form.Greeting["en"], StringComparison.Ordinal);
        Assert.Contains("crisis", form.Rails);
        Assert.Equal(0.5, form.Temperature);
    }

    [Theory]
    [InlineData("../evil.md")]
    [InlineData("/etc/passwd")]
    [InlineData("a/../../b.md")]
    [InlineData("C:/x.md")]
    [InlineData("a\\b.md")]
    [InlineData("")]
    public void PathProblem_EscapingOrOddPaths_AreRefused(string path) =>
        Assert.NotNull(PackFiles.PathProblem(path));

    [Theory]
    [InlineData("persona.yaml")]
    [InlineData("evals/conversations.jsonl")]
    [InlineData("adapters/style.gguf")]
    public void PathProblem_PackPaths_AreAccepted(string path) =>
        Assert.Null(PackFiles.PathProblem(path));

    [Theory]
    [InlineData(11, 500, 1500, 10.0)]
    [InlineData(20, 990, 1000, 20.0)]
    public void Rate_DecodeWindowOrBurst_GivesTokensPerSecond(int tokens, double first, double total, double expected) =>
        Assert.Equal(expected, PersonaProbe.Rate(tokens, first, total), 3);

    [Fact]
    public void Judge_RailExpectations_PassOnlyWhenTheRightRailFires()
    {
        var crisis = new EvalExpectation { Rail = "crisis" };
        var none = new EvalExpectation { Rail = EvalExpectation.NoRail, NotContains = ["prescription"] };
        static ProbeReply Reply(string text, params string[] rails) => new(text, "stop", rails, [], 1, 1, 1, null);

        Assert.True(PersonaProbe.Judge(crisis, Reply("call", "crisis")).Passed);
        Assert.False(PersonaProbe.Judge(crisis, Reply("hello")).Passed);
        Assert.True(PersonaProbe.Judge(none, Reply("hello")).Passed);
        Assert.False(PersonaProbe.Judge(none, Reply("hello", "scope")).Passed);
        Assert.False(PersonaProbe.Judge(none, Reply("Here is a Prescription")).Passed);
    }

    [Fact]
    public void ApplyTo_CrisisResources_SetClearedAndCheckedPerLocale()
    {
        var mindchat = PackFiles.Parse(PersonaVersionSync.ReadContent(Path.Combine(RepoPaths.Personas, "mindchat")));
        var form = PersonaForm.From(mindchat);
        Assert.Equal(["zh-CN", "en"], form.CrisisResources.Keys);
        Assert.All(form.CrisisResources.Values, v => Assert.Equal("", v));
        form.CrisisResources["zh-CN"] = "请拨打学校心理中心热线 021-5555-0142。\n也可以访问 https://care.example.cn\n";
        var work = Directory.CreateTempSubdirectory("persona-form-").FullName;
        try
        {
            var set = form.ApplyTo(mindchat);
            var loaded = PackFiles.Check(set, "mindchat", work, []);
            Assert.Empty(loaded.Problems);
            Assert.Equal("请拨打学校心理中心热线 021-5555-0142。\n也可以访问 https://care.example.cn", loaded.Pack!.CrisisResourcesFor("zh-CN"));
            Assert.Null(loaded.Pack.CrisisResourcesFor("en"));
            Assert.Contains("resources:", set["safety.yaml"], StringComparison.Ordinal);

            var reread = PersonaForm.From(set);
            Assert.StartsWith("请拨打学校心理中心热线", reread.CrisisResources["zh-CN"], StringComparison.Ordinal);
            reread.CrisisResources["zh-CN"] = "  ";
            var cleared = reread.ApplyTo(set);
            Assert.DoesNotContain("resources", cleared["safety.yaml"], StringComparison.Ordinal);

            reread.CrisisResources["en"] = "Please talk to someone you trust.";
            var refused = PackFiles.Check(reread.ApplyTo(set), "mindchat", work, []);
            Assert.Null(refused.Pack);
            var problem = Assert.Single(refused.Problems);
            Assert.EndsWith("safety.yaml", problem.Path, StringComparison.Ordinal);
            Assert.True(problem.Line > 1);
            Assert.StartsWith("crisis.resources.en gives no way to reach a person", problem.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
