using ChatPlatform.Core.Personas;
using ChatPlatform.Knowledge.Search;
using Xunit;

namespace ChatPlatform.Knowledge.Tests;

public sealed class SearchTests
{
    private static readonly KnowledgeSettings Settings = new();

    [Fact]
    public void QueryTerms_ChineseWordOrderSwapped_SameWords()
    {
        var a = TextAnalyzer.QueryTerms("研究生申请");
        var b = TextAnalyzer.QueryTerms("申请研究生");
        Assert.Contains("研究生", a);
        Assert.Contains("申请", a);
        Assert.Equal(a.Order(StringComparer.Ordinal), b.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void QueryTerms_EnglishInflections_ShareStem()
    {
        Assert.Equal(TextAnalyzer.QueryTerms("applications"), TextAnalyzer.QueryTerms("application"));
        Assert.Equal(TextAnalyzer.QueryTerms("applied"), TextAnalyzer.QueryTerms("applies"));
        Assert.Equal(TextAnalyzer.QueryTerms("deadlines"), TextAnalyzer.QueryTerms("deadline"));
        Assert.Empty(TextAnalyzer.QueryTerms("what is the"));
    }

    [Fact]
    public async Task RankAsync_ChineseQuestionWithWordsInOtherOrder_FindsPassage()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var file = k.Write("guide.zh.md", """
            # 招生指南

            ## 申请研究生的流程
            先在网上报名系统注册，填写个人信息，上传成绩单和推荐信，然后缴纳报名费。

            ## 宿舍
            新生入学后统一安排宿舍，每间四人。
            """);
        await k.Knowledge.AddFileAsync("gradchat", file, cancellationToken: ct);

        var ranking = await k.Knowledge.RankAsync("gradchat", "研究生申请怎么做", Settings, 5, ct);

        Assert.Equal("guide.zh.md#申请研究生的流程", ranking.Passages[0].Id);
        Assert.True(ranking.Passages[0].Relevant);
    }

    [Fact]
    public async Task RankAsync_EnglishInflectedQuestion_FindsSectionAndMarksUnrelatedIrrelevant()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var file = k.Write("guide.md", """
            # Admissions guide

            ## Deadlines
            Applications for the autumn intake close on 15 January. Late applications are not considered.

            ## Housing
            First-year students are offered a room in a residence hall.
            """);
        await k.Knowledge.AddFileAsync("gradchat", file, cancellationToken: ct);

        var found = await k.Knowledge.RankAsync("gradchat", "When is the application deadline?", Settings, 5, ct);
        var unrelated = await k.Knowledge.RankAsync("gradchat", "What's the weather like on Mars?", Settings, 5, ct);

        Assert.Equal("guide.md#Deadlines", found.Passages[0].Id);
        Assert.True(found.Passages[0].Relevant);
        Assert.DoesNotContain(unrelated.Passages, p => p.Relevant);
    }

    [Fact]
    public void Synonyms_Parse_OneWordMembersLeadToAllOthers()
    {
        var groups = Synonyms.Parse("""
            # a comment, then a group with a member of several words
            night, evening, out of hours
            不, 无需
            """);

        var night = TextAnalyzer.QueryTerms("night")[0];
        Assert.Contains(groups[night], a => a.SequenceEqual(TextAnalyzer.DocumentTerms("out of hours")));
        Assert.Contains(groups[night], a => a.SequenceEqual(TextAnalyzer.DocumentTerms("evening")));
        Assert.DoesNotContain(groups[night], a => a.SequenceEqual([night]));
        Assert.Equal([["不"]], groups["无需"]);
        Assert.False(groups.ContainsKey(TextAnalyzer.DocumentTerms("out")[0]), "a member of several words is not a key");
    }

    [Theory]
    [InlineData("不预约可以直接去吗？", "guide.zh.md#随到咨询")]
    [InlineData("晚上关门了找谁帮忙？", "guide.zh.md#非开放时间的紧急求助")]
    [InlineData("Do I have to pay anything?", "guide.zh.md#Sessions")]
    public async Task RankAsync_QuestionInOtherWordsThanTheGuide_FindsItThroughSynonyms(string question, string expected)
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var file = k.Write("guide.zh.md", """
            # 服务指南

            ## 如何预约
            通过网站预约，预约时需要提供学号。预约成功后会收到短信。

            ## 随到咨询
            每个工作日下午开放，无需预约，按到达顺序安排。

            ## 开放时间
            中心周一至周五开放，周末不开放。

            ## 非开放时间的紧急求助
            非开放时间请联系保卫处，24小时有人值守，可以帮你联系救助。

            ## Sessions
            Sessions are free of charge for registered students.

            ## Location
            The centre is on the second floor; you have to take the lift.
            """);
        await k.Knowledge.AddFileAsync("mindchat", file, cancellationToken: ct);

        var ranking = await k.Knowledge.RankAsync("mindchat", question, Settings, 5, ct);

        Assert.Equal(expected, ranking.Passages[0].Id);
        Assert.True(ranking.Passages[0].Relevant);
    }

    [Fact]
    public void IsGuessedWord_WordJiebaMadeUpFromCharacters_TrueForItOnly()
    {
        Assert.Contains("药放", TextAnalyzer.QueryTerms("药放冰箱里可以吗？"));
        Assert.True(TextAnalyzer.IsGuessedWord("药放"));
        Assert.False(TextAnalyzer.IsGuessedWord("冰箱"));
        Assert.False(TextAnalyzer.IsGuessedWord("fridge"));
        Assert.Equal(["药", "放"], TextAnalyzer.Characters("药放"));
    }

    [Fact]
    public async Task RankAsync_GuessedWordNoPassageHolds_SearchedByItsCharacters()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var file = k.Write("leaflet.zh.md", """
            # 用药须知

            ## 药品的储存
            药品应放在阴凉干燥的地方，部分药品需要冷藏。

            ## 饮食
            饭后服用，多喝水。
            """);
        await k.Knowledge.AddFileAsync("sunsimiao", file, cancellationToken: ct);

        var ranking = await k.Knowledge.RankAsync("sunsimiao", "药放冰箱里可以吗？", Settings, 5, ct);

        Assert.Equal("leaflet.zh.md#药品的储存", ranking.Passages[0].Id);
    }

    [Fact]
    public async Task RankAsync_OtherPersonasDocuments_NotReturned()
    {
        await using var k = await TestKnowledge.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        await k.Knowledge.AddFileAsync("mindchat", k.Write("hours.md", "# Hours\n\nThe counselling centre opens at 9 am."), cancellationToken: ct);

        var ranking = await k.Knowledge.RankAsync("gradchat", "When does the counselling centre open?", Settings, 5, ct);

        Assert.Empty(ranking.Passages);
    }
}
