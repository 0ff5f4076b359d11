using ChatPlatform.Safety.Judge;
using Xunit;

namespace ChatPlatform.Safety.Tests;

public sealed class GuardOpinionTests
{
    [Theory]
    [InlineData("Safety: Unsafe\nCategories: Suicide & Self-Harm", true, true, false)]
    [InlineData("Safety: Controversial\nCategories: Suicide & Self-Harm", true, true, false)]
    [InlineData("Safety: Unsafe\nCategories: Jailbreak", true, false, true)]
    [InlineData("Safety: Safe\nCategories: None", false, false, false)]
    [InlineData("unsafe\nS11", true, true, false)]
    [InlineData("unsafe\nS1,S11", true, true, false)]
    [InlineData("unsafe\nS2", true, false, false)]
    [InlineData("safe", false, false, false)]
    public void Parse_GuardFormats_ReadsVerdictAndCategories(string output, bool isUnsafe, bool selfHarm, bool jailbreak)
    {
        var opinion = GuardOpinion.Parse(output);

        Assert.NotNull(opinion);
        Assert.Equal(isUnsafe, opinion.Unsafe);
        Assert.Equal(selfHarm, opinion.SelfHarm);
        Assert.Equal(jailbreak, opinion.Jailbreak);
    }

    [Theory]
    [InlineData("")]
    [InlineData("I think this message is fine.")]
    [InlineData("safety first!")]
    public void Parse_OtherText_HasNoOpinion(string output) =>
        Assert.Null(GuardOpinion.Parse(output));
}
