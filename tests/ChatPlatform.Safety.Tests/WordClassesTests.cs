using ChatPlatform.Safety.Detection;
using ChatPlatform.Safety.Evaluation;
using ChatPlatform.Safety.Rails;
using ChatPlatform.Safety.Training;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Safety.Tests;

public sealed class WordClassesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("chatplatform-word-classes-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A dictionary in CC-CEDICT's format, written for this test: words about theft, fruit and weather.</summary>
    private static readonly string[] s_dictionary =
    [
        "# a test dictionary",
        "盜竊 盗窃 [dao4 qie4] /to steal/theft/",
        "偷 偷 [tou1] /to steal/to pilfer/",
        "竊取 窃取 [qie4 qu3] /to steal/to seize/",
        "搶劫 抢劫 [qiang3 jie2] /to rob/robbery/",
        "蘋果 苹果 [ping2 guo3] /apple (fruit)/",
        "香蕉 香蕉 [xiang1 jiao1] /banana/",
        "葡萄 葡萄 [pu2 tao5] /grape/",
        "梨 梨 [li2] /pear/CL:個|个[ge4]/",
        "下雨 下雨 [xia4 yu3] /to rain/rainy/",
        "下雪 下雪 [xia4 xue3] /to snow/",
        "颳風 刮风 [gua1 feng1] /to be windy/",
        "天氣 天气 [tian1 qi4] /weather/",
        "錢 钱 [qian2] /money/CL:筆|笔[bi3]/",
        "錢 钱 [Qian2] /surname Qian/",
        "北京 北京 [Bei3 jing1] /Beijing/",
        "別人 别人 [bie2 ren2] /other people/others/",
        "別 别 [bie2] /to leave/other/",
        "喫 吃 [chi1] /variant of 吃[chi1]/",
    ];

    private static WordClasses Build(int classes = 4)
    {
        var embedder = MiniLmEmbedder.Shared(out var error) ?? throw new InvalidOperationException(error);
        return WordClassBuilder.Build("test", WordClassBuilder.Read(s_dictionary), embedder.EmbedMany, classes);
    }

    [Fact]
    public void Read_KeepsCommonSensesAsPlainEnglish_AndDropsPointersAndNames()
    {
        var entries = WordClassBuilder.Read(s_dictionary).ToDictionary(e => e.Simplified);

        Assert.Equal("steal; theft", entries["盗窃"].Gloss);
        Assert.Equal("盜竊", entries["盗窃"].Traditional);
        // The classifier sense points elsewhere, and the surname reading gives way to the common one.
        Assert.Equal("money", entries["钱"].Gloss);
        Assert.Equal("apple", entries["苹果"].Gloss);
        // A proper name stays when the word has no other reading; a variant that only points elsewhere goes.
        Assert.Equal("Beijing", entries["北京"].Gloss);
        Assert.False(entries.ContainsKey("吃"));
    }

    [Fact]
    public void Read_ALineThatIsNoEntry_NamesItsLineNumber()
    {
        var e = Assert.Throws<FormatException>(() => WordClassBuilder.Read(["# header", "盗窃 steal"]));

        Assert.Contains("line 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_PutsWordsOfLikeMeaningInOneClass()
    {
        var classes = Build();

        Assert.Equal(classes.ClassOf("盗窃"), classes.ClassOf("偷"));
        Assert.Equal(classes.ClassOf("盗窃"), classes.ClassOf("窃取"));
        Assert.Equal(classes.ClassOf("苹果"), classes.ClassOf("香蕉"));
        Assert.Equal(classes.ClassOf("苹果"), classes.ClassOf("葡萄"));
        Assert.Equal(classes.ClassOf("下雨"), classes.ClassOf("下雪"));
        Assert.NotEqual(classes.ClassOf("盗窃"), classes.ClassOf("苹果"));
        Assert.NotEqual(classes.ClassOf("盗窃"), classes.ClassOf("下雨"));
        Assert.NotEqual(classes.ClassOf("苹果"), classes.ClassOf("下雨"));
        Assert.Null(classes.ClassOf("电脑"));
    }

    [Fact]
    public void Build_TwiceFromTheSameDictionary_GivesTheSameFile()
    {
        var (first, second) = (Path.Combine(_dir, "first.bin"), Path.Combine(_dir, "second.bin"));

        Build().Save(first);
        Build().Save(second);

        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
    }

    [Fact]
    public void Segment_TakesTheLongestWordFromTheLeft_AndReadsTraditionalCharacters()
    {
        var classes = Build();

        Assert.Equal(["偷", "别人", "钱"], classes.Segment("偷别人的钱"));
        // 錢 and 別 are simplified through the dictionary's one-character words; other characters are skipped.
        Assert.Equal(["偷", "别人", "钱"], classes.Segment("偷別人的錢 ok"));
        Assert.Empty(classes.Segment("hello world"));
    }

    [Fact]
    public void Features_TwoRequestsWithSynonyms_ShareTheirWordClassFeatures()
    {
        var classes = Build();

        var steal = NgramClassifier.Features("怎么偷钱", classes).Keys.ToHashSet();
        var rob = NgramClassifier.Features("怎么窃取钱", classes).Keys.ToHashSet();
        var withoutClasses = NgramClassifier.Features("怎么偷钱").Keys.ToHashSet();

        // Without classes the two share only the characters they share; with them, also "theft word, then money".
        var sharedWith = steal.Intersect(rob).Count();
        var sharedWithout = withoutClasses.Intersect(NgramClassifier.Features("怎么窃取钱").Keys).Count();
        Assert.True(sharedWith >= sharedWithout + 3, $"{sharedWith} shared features with classes, {sharedWithout} without");
    }

    [Fact]
    public void WeightsFile_KeepsTheClasses_AndTheRailsReadThemAfterLoading()
    {
        var classes = Build();
        var items = SafetyTrainer.Prepare(Corpus(), Rules.Safety.Normalizer, SafetyRules.LoadLexicons(RepoPaths.Safety), embedder: null, wordClasses: classes);
        var model = SafetyTrainer.Train(items, embedder: null, wordClasses: classes);
        var path = Path.Combine(_dir, "rails.bin");
        model.Save(path);
        var classesPath = Path.Combine(_dir, "classes.bin");
        classes.Save(classesPath);

        var loaded = SafetyModel.Load(path, embedder: null);

        Assert.Equal(classes.Words, loaded.WordClasses!.Words);
        Assert.Equal(classes.Words, WordClasses.Load(classesPath).Words);
        var message = loaded.Analyze("怎么窃取别人的钱", Rules.Safety.Normalizer);
        Assert.Equal(NgramClassifier.Features(message.Normalized, classes).Keys, message.Ngrams.Keys);
        // The file keeps n-gram weights in half precision: the same score to three decimal places.
        Assert.Equal(model.Families["harmful"].Score(model.Analyze("怎么窃取别人的钱", Rules.Safety.Normalizer)), loaded.Families["harmful"].Score(message), 3);
    }

    [Fact]
    public void Load_TruncatedFile_IsRefusedByName()
    {
        var path = Path.Combine(_dir, "classes.bin");
        Build().Save(path);
        var truncated = Path.Combine(_dir, "truncated.bin");
        File.WriteAllBytes(truncated, File.ReadAllBytes(path)[..40]);

        var e = Assert.Throws<FormatException>(() => WordClasses.Load(truncated));

        Assert.Contains("truncated.bin", e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message[e.Message.IndexOf(':', StringComparison.Ordinal)..], StringComparison.Ordinal);
    }

    private static readonly string[] s_theft = ["我想偷别人的钱", "怎么盗窃", "怎么偷钱", "盗窃别人的钱"];
    private static readonly string[] s_weather = ["今天下雨", "明天下雪吗", "天气怎么样", "别人说会刮风"];

    private static List<EvalItem> Corpus() =>
    [
        .. s_theft.Select((t, i) => new EvalItem(t, "harmful", Positive: true, "zh", Id: null, Source: $"toy/{i % 3}")),
        .. s_weather.Select((t, i) => new EvalItem(t, "harmful", Positive: false, "zh", Id: null, Source: $"toy/{i % 3}")),
    ];
}
