using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using Xunit;

namespace ChatPlatform.Safety.Tests;

public sealed class PersonaThresholdTests
{
    // Benign, but phrased close enough to a role-play request that the injection classifier gives it some weight.
    private const string Borderline = "Can you pretend to be my interviewer and ask me questions?";

    private static PersonaPack WithThreshold(string id, string rail, float value)
    {
        var pack = Rules.Pack(id);
        return pack with { Safety = pack.Safety with { Thresholds = new Dictionary<string, float> { [rail] = value } } };
    }

    [Fact]
    public void Check_PackLowersInjectionThreshold_FiresWhereDefaultDoesNot()
    {
        var plain = Rules.Pack("gradchat");
        var strict = WithThreshold("gradchat", SafetyRails.Injection, 0.01f);
        var score = Rules.Input.Inspect(Borderline).Injection.Score;
        Assert.InRange(score, 0.01f, Rules.Safety.ThresholdFor("injection") - 0.001f);

        Assert.Equal(InputAction.Allow, Rules.Input.Check(plain, Borderline, "en").Action);
        var verdict = Rules.Input.Check(strict, Borderline, "en");

        Assert.Equal(InputAction.Refuse, verdict.Action);
        Assert.Equal(SafetyRails.Injection, verdict.Rail);
    }

    [Fact]
    public void Inspect_WithPack_UsesPackThresholdAndDefaultsForOthers()
    {
        var strict = WithThreshold("gradchat", SafetyRails.Injection, 0.01f);

        Assert.Equal(0.01f, Rules.Input.ThresholdFor(strict, "injection"));
        Assert.Equal(Rules.Safety.ThresholdFor("crisis"), Rules.Input.ThresholdFor(strict, "crisis"));
        Assert.True(Rules.Input.Inspect(Borderline, strict).Injection.Fired);
        Assert.False(Rules.Input.Inspect(Borderline).Injection.Fired);
    }

    [Fact]
    public void Check_LowerCrisisThreshold_StillAnswersWithTheWrittenCrisisReply()
    {
        const string text = "I feel empty and I do not see the point of anything anymore";
        var score = Rules.Input.Inspect(text).Crisis;
        Assert.False(score.Fired);
        Assert.True(score.Score > 0.02f, $"classifier score {score.Score}");
        var sensitive = WithThreshold("mindchat", SafetyRails.Crisis, Math.Max(0.01f, score.Score - 0.01f));

        var verdict = Rules.Input.Check(sensitive, text, "en");

        Assert.Equal(InputAction.Crisis, verdict.Action);
        Assert.Contains("988", verdict.Reply, StringComparison.Ordinal);
    }
}
