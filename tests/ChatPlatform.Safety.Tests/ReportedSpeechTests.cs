using ChatPlatform.Safety.Detection;
using ChatPlatform.Safety.Rails;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Safety.Tests;

public sealed class ReportedSpeechTests
{
    [Theory]
    [InlineData("My neighbour said \"I'm going to end it all\" and laughed. Should I worry?", "end it all", "should i worry")]
    [InlineData("my coworker said 'i'd be better off dead' as a joke. Was it one?", "better off dead", "was it one")]
    [InlineData("my uncle told me he's been thinking about suicide. what do i say to him", "suicide", "what do i say")]
    [InlineData("护工说“活着拖累大家”，这种话要不要告诉医生", "拖累", "要不要告诉医生")]
    [InlineData("表哥最近总说活着没意思，我很担心", "活着没意思", "我很担心")]
    [InlineData("他威胁我说再分手他就跳楼，我该怎么办", "跳楼", "我该怎么办")]
    public void OwnWords_LeaveOutWhatOthersSaid(string text, string theirs, string mine)
    {
        var own = Rules.Safety.Normalizer.Normalize(ReportedSpeech.OwnWords(text) ?? text);
        Assert.DoesNotContain(Rules.Safety.Normalizer.Normalize(theirs), own, StringComparison.Ordinal);
        Assert.Contains(Rules.Safety.Normalizer.Normalize(mine), own, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("I told my mom I want to die")]
    [InlineData("I don't want to live anymore, it's too much")]
    [InlineData("我跟他说我不想活了")]
    [InlineData("说实话我真的活不下去了")]
    [InlineData("小说里的主角最后跳楼了")]
    [InlineData("she's fine, I'm the one who can't go on")]
    public void OwnWords_TheWritersOwnWords_AreAllKept(string text) =>
        Assert.Null(ReportedSpeech.OwnWords(text));

    [Fact]
    public void Read_ACrisisCueOnlyInReportedWords_IsWeighedNotFired()
    {
        var crisis = SafetyRules.LoadLexicons(RepoPaths.Safety)[SafetyFamilies.Crisis];
        const string text = "My neighbour said \"I'm going to end it all\" and laughed. Should I worry?";
        var normalized = Rules.Safety.Normalizer.Normalize(text);
        var own = Rules.Safety.Normalizer.Normalize(ReportedSpeech.OwnWords(text)!);

        Assert.Equal(LexiconMatch.Strong, crisis.Match(normalized));
        Assert.Equal((LexiconMatch.Weak, true), Detector.Read(crisis, normalized, () => own, weighsWeakCues: true));
        // Families that do not weigh weak cues read the whole text as before.
        Assert.Equal((LexiconMatch.Strong, false), Detector.Read(crisis, normalized, () => own, weighsWeakCues: false));
        // The writer's own words decide as before.
        const string mine = "I'm going to end it all tonight";
        Assert.Equal((LexiconMatch.Strong, false), Detector.Read(crisis, Rules.Safety.Normalizer.Normalize(mine), () => null, weighsWeakCues: true));
    }

    [Theory]
    [InlineData("看到同事自杀，让我感到很自责", true)]
    [InlineData("她甚至威胁过我，说如果我不能一直陪她，她就自杀", true)]
    [InlineData("我很担心我丈夫，他有自杀的想法", true)]
    [InlineData("尤其是关于我妈妈自杀的事情，我很自责", true)]
    [InlineData("my brother has been self harming again, how do I help", true)]
    [InlineData("我就是觉得自从同事自杀后，我一直在自责", true)]
    [InlineData("两个月前我目睹了一起跳楼事件，现在值夜班很害怕", true)]
    [InlineData("我看到同事自杀以后也想死", false)]
    [InlineData("他想死，我也想死", false)]
    [InlineData("我想跳楼的念头越来越强", false)]
    [InlineData("我妈骂我，我想自杀", false)]
    [InlineData("我一看到他就想死", false)]
    [InlineData("被老公打了，最近总想死", false)]
    [InlineData("看到同事自杀以后，我也想自杀", false)]
    [InlineData("I have been self harming again", false)]
    public void SaidOfOthers_ReadsWhomEachCuesClauseNamesBeforeIt(string text, bool others)
    {
        var crisis = SafetyRules.LoadLexicons(RepoPaths.Safety)[SafetyFamilies.Crisis];
        var clauses = ReportedSpeech.Clauses(text).Select(Rules.Safety.Normalizer.Normalize);
        Assert.Equal(others, Cues.SaidOfOthers(clauses, crisis));
    }

    [Theory]
    [InlineData("我想死", true)]
    [InlineData("不想活了，太累了", false)]
    [InlineData("我妈说不想活了", false)]
    [InlineData("我们班有人自残", false)]
    [InlineData("i can't do this", true)]
    [InlineData("my son wants to die", false)]
    public void SpeaksOfSelf_MeansTheWriter_NotTheirFamily(string text, bool self) =>
        Assert.Equal(self, Cues.SpeaksOfSelf(Rules.Safety.Normalizer.Normalize(text)));
}
