using Xunit;

namespace ChatPlatform.Safety.Tests;

public sealed class TextNormalizerTests
{
    [Theory]
    [InlineData("我 不 想 活 了", "我不想活了")]
    [InlineData("我想結束這一切", "我想结束这一切")]
    [InlineData("ＩＷＡＮＴ", "iwant")]
    [InlineData("k i l l myself", "kill myself")]
    [InlineData("k1ll mys3lf", "kill myself")]
    [InlineData("don't", "dont")]
    [InlineData("自.杀", "自杀")]
    [InlineData("Room 5.14, B12", "room 5 14 b12")]
    public void Normalize_Variants_FoldToOneForm(string text, string expected) =>
        Assert.Equal(expected, Rules.Safety.Normalizer.Normalize(text));
}
