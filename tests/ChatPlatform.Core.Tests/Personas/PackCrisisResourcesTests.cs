using ChatPlatform.Core.Personas;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Core.Tests.Personas;

/// <summary>safety.yaml <c>crisis.resources</c>: a pack's own crisis reply per locale, refused when it points nowhere.</summary>
public sealed class PackCrisisResourcesTests : IDisposable
{
    private const string Safety = "safety.yaml";
    private const string Webhook = "  notifyWebhook:";

    private readonly TempPack _pack = TempPack.CopyOf("mindchat");

    public void Dispose() => _pack.Dispose();

    /// <summary>Puts <paramref name="entries"/> under crisis.resources; returns the line of the first entry.</summary>
    private int SetResources(params string[] entries)
    {
        var line = _pack.EditLine(Safety, Webhook, Webhook + "\n  resources:\n" + string.Join('\n', entries.Select(e => "    " + e)));
        return line + 2;
    }

    [Fact]
    public void Load_ResourcesForOneLocale_ReadAndOtherLocaleLeftToSharedFiles()
    {
        SetResources("en: \"Call the campus line on 555-0142 or visit https://help.example.edu/now, any hour.\"");

        var result = PackLoader.Load(_pack.Directory);

        ProblemAssert.None(result.Problems);
        var pack = result.Pack!;
        Assert.Equal("Call the campus line on 555-0142 or visit https://help.example.edu/now, any hour.", pack.CrisisResourcesFor("en"));
        Assert.Equal(pack.CrisisResourcesFor("en"), pack.CrisisResourcesFor("en-GB"));
        Assert.Null(pack.CrisisResourcesFor("zh-CN"));
    }

    [Fact]
    public void Load_MultiLineResources_KeepsTheText()
    {
        SetResources("zh-CN: |", "  请拨打学校心理中心热线 021-5555-0142。", "  也可以访问 www.example.cn/help");

        var result = PackLoader.Load(_pack.Directory);

        ProblemAssert.None(result.Problems);
        Assert.Equal("请拨打学校心理中心热线 021-5555-0142。\n也可以访问 www.example.cn/help", result.Pack!.CrisisResourcesFor("zh-CN"));
    }

    [Theory]
    [InlineData("en: \"\"", "crisis.resources.en must be non-empty text")]
    [InlineData("en:", "crisis.resources.en must be non-empty text")]
    [InlineData("en: \"Please talk to someone you trust today.\"", "crisis.resources.en gives no way to reach a person")]
    [InlineData("en: \"Call us on 12 anytime.\"", "crisis.resources.en gives no way to reach a person")]
    [InlineData("fr: \"Appelez le 3114.\"", "crisis.resources.fr: 'fr' is not a supported locale")]
    public void Load_BadResources_RefusedWithPathAndLine(string entry, string fragment)
    {
        var line = SetResources(entry);

        var result = PackLoader.Load(_pack.Directory);

        Assert.Null(result.Pack);
        ProblemAssert.Has(result.Problems, _pack.ProblemPath(Safety), line, fragment);
    }

    [Theory]
    [InlineData("Call or text 988.", true)]
    [InlineData("Samaritans: 116 123", true)]
    [InlineData("北京心理危机研究与干预中心 010-82951332", true)]
    [InlineData("+44 20 7946 0958", true)]
    [InlineData("See https://findahelpline.com", true)]
    [InlineData("www.samaritans.org", true)]
    [InlineData("Talk to a friend.", false)]
    [InlineData("Step 1 and 2.", false)]
    [InlineData("", false)]
    public void HasContact_Text_FindsPhoneNumberOrWebAddress(string text, bool expected) =>
        Assert.Equal(expected, CrisisProtocol.HasContact(text));
}
