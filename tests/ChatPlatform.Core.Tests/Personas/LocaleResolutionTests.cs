using ChatPlatform.Core.Personas;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Core.Tests.Personas;

public sealed class LocaleResolutionTests
{
    private static readonly string[] Available = ["zh-CN", "en"];

    [Theory]
    [InlineData("en", "en")]
    [InlineData("zh-CN", "zh-CN")]
    [InlineData("EN", "en")]
    [InlineData("zh-cn", "zh-CN")]
    public void Resolve_ExactMatch_ReturnsIt(string requested, string expected) =>
        Assert.Equal(expected, Locales.Resolve(requested, Available));

    [Theory]
    [InlineData("en-US", "en")]
    [InlineData("en-GB", "en")]
    [InlineData("zh-TW", "zh-CN")]
    [InlineData("zh_HK", "zh-CN")]
    [InlineData("zh", "zh-CN")]
    public void Resolve_SameLanguage_FallsBackToIt(string requested, string expected) =>
        Assert.Equal(expected, Locales.Resolve(requested, Available));

    [Theory]
    [InlineData("fr")]
    [InlineData("fr-FR")]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData(null)]
    public void Resolve_NoMatch_ReturnsDefault(string? requested) =>
        Assert.Equal("zh-CN", Locales.Resolve(requested, Available));

    [Fact]
    public void PersonaPack_TextsForLocale_FollowResolution()
    {
        var pack = PackLoader.Load(Path.Combine(RepoPaths.Personas, "gradchat")).Pack!;

        Assert.Equal("en", pack.ResolveLocale("en-AU"));
        Assert.Equal(pack.SystemPrompt["en"], pack.SystemPromptFor("en-AU"));
        Assert.Equal(pack.Greeting["zh-CN"], pack.GreetingFor(null));
        Assert.Equal(pack.Greeting["zh-CN"], pack.GreetingFor("ja"));
        Assert.Equal(pack.Safety.Disclaimer["en"], pack.DisclaimerFor("en-US"));
        Assert.Equal(pack.Safety.OutOfScope["zh-CN"], pack.OutOfScopeFor("zh-TW"));
    }
}
