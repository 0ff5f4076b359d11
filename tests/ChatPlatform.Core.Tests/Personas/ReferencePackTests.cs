using ChatPlatform.Core.Personas;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Core.Tests.Personas;

public sealed class ReferencePackTests
{
    public static TheoryData<string> ReferencePacks => ["mindchat", "sunsimiao", "gradchat"];

    [Theory]
    [MemberData(nameof(ReferencePacks))]
    public void Load_ReferencePack_HasNoProblems(string id)
    {
        var result = PackLoader.Load(Path.Combine(RepoPaths.Personas, id));

        ProblemAssert.None(result.Problems);
        Assert.True(result.IsValid);
        Assert.Equal(id, result.Pack!.Id);
    }

    [Fact]
    public void LoadAll_RepositoryPersonas_LoadsTheReferencePacksWithoutProblems()
    {
        var result = PackLoader.LoadAll(RepoPaths.Personas);

        ProblemAssert.None(result.Problems);
        Assert.Equal(["gradchat", "mindchat", "sunsimiao"], result.Packs.Select(p => p.Id).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("mindchat", "counselling", new[] { "crisis", "injection", "harmful", "pii", "scope", "output" })]
    [InlineData("sunsimiao", "health", new[] { "crisis", "medical_emergency", "injection", "harmful", "pii", "scope", "output" })]
    [InlineData("gradchat", "education", new[] { "crisis", "injection", "harmful", "pii", "scope", "output" })]
    public void Load_ReferencePack_HasItsDomainRailsAndSharedSettings(string id, string domain, string[] rails)
    {
        var pack = LoadValid(id);

        Assert.Equal(domain, pack.Domain);
        Assert.Equal(rails, pack.Safety.Rails);
        Assert.Equal("zh-CN", pack.DefaultLocale);
        Assert.Equal(["zh-CN", "en"], pack.Locales);
        Assert.Equal(["web", "api", "teams", "slack", "cli"], pack.Channels);
        Assert.Empty(pack.Adapters);
        Assert.Equal(["qwen2", "llama"], pack.Model.Architectures);
        Assert.Equal(4096, pack.Model.MinContext);
        Assert.True(pack.Safety.Crisis.Enabled);
        Assert.True(pack.Safety.Crisis.OfferHuman);
        Assert.True(pack.Safety.RedactPii);
        Assert.Equal(Path.Combine(RepoPaths.Personas, id), pack.Directory);
    }

    [Theory]
    [MemberData(nameof(ReferencePacks))]
    public void Load_ReferencePack_HasEveryTextForEveryLocale(string id)
    {
        var pack = LoadValid(id);

        foreach (var locale in pack.Locales)
        {
            Assert.True(pack.SystemPrompt[locale].Length >= 500, $"{id} system.{locale}.md looks like a stub");
            Assert.False(string.IsNullOrWhiteSpace(pack.Greeting[locale]));
            Assert.False(string.IsNullOrWhiteSpace(pack.Safety.Disclaimer[locale]));
            Assert.False(string.IsNullOrWhiteSpace(pack.Safety.OutOfScope[locale]));
        }
    }

    [Theory]
    [MemberData(nameof(ReferencePacks))]
    public void SystemPrompt_ReferencePack_NamesEmergencyNumbers(string id)
    {
        var pack = LoadValid(id);

        Assert.Contains("120", pack.SystemPrompt["zh-CN"], StringComparison.Ordinal);
        Assert.Contains("911", pack.SystemPrompt["en"], StringComparison.Ordinal);
        Assert.Contains("112", pack.SystemPrompt["en"], StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ReferencePacks))]
    public void Evals_ReferencePack_CoverCrisisAndFalseAlarmsInEveryLocale(string id)
    {
        var pack = LoadValid(id);

        foreach (var locale in pack.Locales)
            Assert.Contains(pack.Evals, e => e.Locale == locale && e.Expect.Rail == SafetyRails.Crisis);
        Assert.Contains(pack.Evals, e => e.Expect.Rail == EvalExpectation.NoRail);
        foreach (var rail in pack.Safety.Rails.Where(r => r != SafetyRails.Output))
            Assert.Contains(pack.Evals, e => e.Expect.Rail == rail);
    }

    private static PersonaPack LoadValid(string id)
    {
        var result = PackLoader.Load(Path.Combine(RepoPaths.Personas, id));
        ProblemAssert.None(result.Problems);
        return result.Pack!;
    }
}
