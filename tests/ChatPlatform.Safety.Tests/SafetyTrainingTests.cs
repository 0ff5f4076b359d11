using System.Text.Json;
using ChatPlatform.Safety.Detection;
using ChatPlatform.Safety.Evaluation;
using ChatPlatform.Safety.Rails;
using ChatPlatform.Safety.Training;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Safety.Tests;

public sealed class SafetyTrainingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("chatplatform-safety-train-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The shared development split beside the repository, where this checkout has one.</summary>
    internal static string SharedSafetyData => Path.GetFullPath(Path.Combine(RepoPaths.Root, "..", "shared", "safety-data"));

    private static readonly string[] s_fillerA = ["apple", "river", "candle", "window", "garden", "pencil", "marble", "ladder", "button", "carpet"];
    private static readonly string[] s_fillerB = ["violin", "tunnel", "saddle", "rocket", "meadow", "anchor", "blanket", "feather", "lantern", "compass"];

    /// <summary>
    /// Two toy sources that share what marks the phenomenon ("zorblax wumpus") and what marks its absence ("quibble
    /// fandango") but no other word; source B also has five positives in a phrasing source A never shows.
    /// </summary>
    private string ToyCorpus()
    {
        var corpus = Directory.CreateDirectory(Path.Combine(_dir, "corpus")).FullName;
        IEnumerable<string> Lines(string source, string[] filler, bool unseen)
        {
            foreach (var word in filler)
            {
                yield return Line($"zorblax wumpus {word} {word}", "crisis", source);
                yield return Line($"quibble fandango {word} {word}", "not_crisis", source);
            }
            if (unseen)
                foreach (var word in filler.Take(5))
                    yield return Line($"quibble plonk {word}", "crisis", source);
        }
        File.WriteAllLines(Path.Combine(corpus, "a.jsonl"), Lines("toy/a", s_fillerA, unseen: false));
        File.WriteAllLines(Path.Combine(corpus, "b.jsonl"), Lines("toy/b", s_fillerB, unseen: true));
        return corpus;
    }

    private static string Line(string text, string label, string source) =>
        JsonSerializer.Serialize(new { text, label, lang = "en", source = source + ":toy.jsonl" });

    private static List<PreparedItem> Prepare(params string[] corpora) =>
        SafetyTrainer.Prepare(SafetyCorpus.Read(corpora), Rules.Safety.Normalizer, SafetyRules.LoadLexicons(RepoPaths.Safety), embedder: null);

    [Fact]
    public void CrossSource_TwoToySources_ScoresEachOnTheOtherAsExpected()
    {
        var report = CrossSourceEvaluator.Run(Prepare(ToyCorpus()), RepoPaths.Safety, embedder: null);

        var a = report.Sources["toy/a"]["crisis"]["en"];
        Assert.Equal((10, 0, 0, 10), (a.Tp, a.Fp, a.Fn, a.Tn));
        var b = report.Sources["toy/b"]["crisis"]["en"];
        // The five positives phrased as source A never phrased them are missed: recall 10/15.
        Assert.Equal((10, 0, 5, 10), (b.Tp, b.Fp, b.Fn, b.Tn));
        Assert.Equal(0.6667, b.Recall);
        Assert.Equal(20, report.Pooled["crisis"]["en"].Tp);
        Assert.Equal((1.0 + 0.6667) / 2, report.Mean["crisis"]["en"].Recall!.Value, 3);
        Assert.Equal(0.0, report.Mean["crisis"]["en"].Fpr);
    }

    [Fact]
    public void CrossSource_LeaveOutOneSource_ScoresOnlyThatSourceAsTheFullRunDoes()
    {
        var items = Prepare(ToyCorpus());

        var report = CrossSourceEvaluator.Run(items, RepoPaths.Safety, embedder: null, leaveOut: ["toy/b"]);

        Assert.Equal(["toy/b"], report.Sources.Keys);
        var b = report.Sources["toy/b"]["crisis"]["en"];
        Assert.Equal((10, 0, 5, 10), (b.Tp, b.Fp, b.Fn, b.Tn));
        Assert.Equal(0.6667, report.Mean["crisis"]["en"].Recall);
    }

    [Fact]
    public void CrossSource_LeaveOutUnknownSource_NamesItAndTheSourcesThereAre()
    {
        var items = Prepare(ToyCorpus());

        var e = Assert.Throws<ArgumentException>(() => CrossSourceEvaluator.Run(items, RepoPaths.Safety, embedder: null, leaveOut: ["toy/c"]));
        Assert.Contains("no source named 'toy/c'", e.Message, StringComparison.Ordinal);
        Assert.Contains("toy/a, toy/b", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CrossSource_OneSource_IsRefused()
    {
        var items = Prepare(Path.Combine(ToyCorpus(), "a.jsonl"));

        var e = Assert.Throws<ArgumentException>(() => CrossSourceEvaluator.Run(items, RepoPaths.Safety, embedder: null));
        Assert.Contains("at least two sources", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_SameCorpus_WritesTheSameBytesAndTheFileScoresAsTrained()
    {
        var items = Prepare(ToyCorpus());
        var first = Path.Combine(_dir, "first.bin");
        var second = Path.Combine(_dir, "second.bin");

        SafetyTrainer.Train(items, embedder: null).Save(first);
        SafetyTrainer.Train(items, embedder: null).Save(second);

        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
        var loaded = SafetyModel.Load(first, embedder: null);
        Assert.Equal(SafetyFamilies.Classified.Order(), loaded.Families.Keys.Order());
        var rails = new InputRails(SafetyRules.Load(RepoPaths.Safety, loaded));
        Assert.True(rails.Inspect("zorblax wumpus garden garden").Crisis.Fired);
        Assert.False(rails.Inspect("quibble fandango garden garden").Crisis.Fired);
    }

    [Fact]
    public void SavedFile_HalfPrecisionTables_ScoreAsTheTrainedModelDoes()
    {
        var examples = Path.Combine(RepoPaths.Safety, "examples");
        var items = Prepare(Path.Combine(examples, "crisis.jsonl"), Path.Combine(examples, "injection.jsonl"),
            Path.Combine(examples, "medical.jsonl"), Path.Combine(examples, "chitchat.jsonl"));
        var trained = SafetyTrainer.Train(items, embedder: null);
        var path = Path.Combine(_dir, "half.bin");
        trained.Save(path);
        var loaded = SafetyModel.Load(path, embedder: null);

        var largest = 0f;
        foreach (var item in items)
        {
            var message = trained.Analyze(item.Item.Text, Rules.Safety.Normalizer);
            foreach (var family in SafetyFamilies.Classified)
                largest = Math.Max(largest, Math.Abs(trained.Families[family].Score(message) - loaded.Families[family].Score(message)));
        }
        // Half precision keeps about three significant digits of each weight: far finer than any threshold step.
        Assert.InRange(largest, 0f, 0.005f);
        // At most five bytes a weight (a varint step and a half), where index/float pairs took eight.
        var weights = trained.Families.Values.Sum(f => f.Ngram.StoredWeights);
        Assert.True(new FileInfo(path).Length < 5L * weights + 4096, $"{new FileInfo(path).Length} bytes for {weights} weights");
    }

    [Fact]
    public void MlpHead_LearnsAnInteractionThatNoLinearHeadCan()
    {
        // The positive class is where two directions agree (both up or both down): no single direction parts it.
        var random = new Random(5);
        var examples = Enumerable.Range(0, 400).Select(_ =>
        {
            var (a, b) = (random.NextDouble() < 0.5 ? -1f : 1f, random.NextDouble() < 0.5 ? -1f : 1f);
            float[] x = [a + (float)(random.NextDouble() - 0.5) * 0.4f, b + (float)(random.NextDouble() - 0.5) * 0.4f, (float)random.NextDouble()];
            return (x, a == b, 1f);
        }).ToList();

        var mlp = MlpHead.Train(examples, dimensions: 3, units: 16, epochs: 60);
        var linear = DenseLogisticRegression.Train(examples, dimensions: 3, epochs: 60);

        double Accuracy(IEmbeddingHead head) => examples.Count(e => head.Logit(e.x) > 0 == e.Item2) / (double)examples.Count;
        Assert.InRange(Accuracy(mlp), 0.95, 1.0);
        Assert.InRange(Accuracy(linear), 0.0, 0.75);
        // Deterministic: the same examples give the same head.
        var again = MlpHead.Train(examples, dimensions: 3, units: 16, epochs: 60);
        Assert.All(examples, e => Assert.Equal(mlp.Logit(e.x), again.Logit(e.x)));
    }

    [Fact]
    public void SavedFile_EmbeddingHeads_ScoreAsTrained_CrisisAndHarmfulWithAHiddenLayer()
    {
        var embedder = MiniLmEmbedder.Shared(out var error) ?? throw new InvalidOperationException(error);
        var examples = Path.Combine(RepoPaths.Safety, "examples");
        var items = SafetyTrainer.Prepare(
            SafetyCorpus.Read([Path.Combine(examples, "crisis.jsonl"), Path.Combine(examples, "injection.jsonl"), Path.Combine(examples, "written-e.jsonl")])
                .Where(i => i.Lang == "en").ToList(),
            Rules.Safety.Normalizer, SafetyRules.LoadLexicons(RepoPaths.Safety), embedder);
        var trained = SafetyTrainer.Train(items, embedder);
        var path = Path.Combine(_dir, "heads.bin");
        trained.Save(path);
        var loaded = SafetyModel.Load(path, embedder);

        Assert.IsType<MlpHead>(loaded.Families[SafetyFamilies.Crisis].EmbeddingHead);
        Assert.IsType<MlpHead>(loaded.Families[SafetyFamilies.Harmful].EmbeddingHead);
        Assert.IsType<DenseLogisticRegression>(loaded.Families[SafetyFamilies.Injection].EmbeddingHead);
        var embedded = items.Where(i => i.Embedding is not null).Take(120).ToList();
        Assert.Equal(120, embedded.Count);
        var largest = 0f;
        foreach (var item in embedded)
        {
            var message = trained.Analyze(item.Item.Text, Rules.Safety.Normalizer, item.Embedding);
            foreach (var family in SafetyFamilies.Classified)
            {
                Assert.Equal(trained.Families[family].EmbeddingHead!.Logit(item.Embedding!), loaded.Families[family].EmbeddingHead!.Logit(item.Embedding));
                largest = Math.Max(largest, Math.Abs(trained.Families[family].Score(message) - loaded.Families[family].Score(message)));
            }
        }
        // The heads are stored whole; only the n-gram tables are rounded to half precision.
        Assert.InRange(largest, 0f, 0.005f);
    }

    [Fact]
    public void Train_HarmfulRequests_AreNoNegativesOfTheCrisisClassifier()
    {
        // A request for lethal means "for someone else" shares its words with a person in crisis asking for them: a
        // harmful request must not teach the crisis classifier that those words mean safety.
        var corpus = Directory.CreateDirectory(Path.Combine(_dir, "means")).FullName;
        IEnumerable<string> Lines(string source, string[] filler)
        {
            foreach (var word in filler)
            {
                yield return Line($"zorblax wumpus {word}", "crisis", source);
                yield return Line($"quibble fandango {word}", "not_crisis", source);
                foreach (var target in new[] { "neighbour", "landlord", "rival" })
                    yield return Line($"zorblax wumpus {target} {word}", "harmful", source);
                yield return Line($"quibble plonk {word}", "not_harmful", source);
            }
        }
        File.WriteAllLines(Path.Combine(corpus, "a.jsonl"), Lines("toy/a", s_fillerA));
        File.WriteAllLines(Path.Combine(corpus, "b.jsonl"), Lines("toy/b", s_fillerB));
        var model = SafetyTrainer.Train(Prepare(corpus), embedder: null);
        var rails = new InputRails(SafetyRules.Load(RepoPaths.Safety, model));

        var finding = rails.Inspect("zorblax wumpus neighbour lantern");
        Assert.True(finding.Crisis.Fired, $"crisis {finding.Crisis.Score}");
        Assert.True(finding.Harmful.Fired, $"harmful {finding.Harmful.Score}");
        Assert.False(rails.Inspect("quibble fandango lantern").Crisis.Fired);
    }

    [Fact]
    public void Train_ManyLinesOfOneFamily_DoNotDrownOutAnotherFamilysNegatives()
    {
        // A few health questions share a word with crisis messages; they teach the crisis classifier that the word
        // alone is no crisis. Many benign requests of another family must not take that lesson's weight away.
        string Corpus(string name, int benignPerWord)
        {
            var corpus = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
            IEnumerable<string> Lines(string source, string[] filler)
            {
                foreach (var word in filler)
                {
                    yield return Line($"zorblax wumpus {word}", "crisis", source);
                    yield return Line($"quibble fandango {word}", "not_crisis", source);
                    yield return Line($"zorblax glorp {word}", "medical_ordinary", source);
                    for (var i = 0; i < benignPerWord; i++) yield return Line($"snark {i} {word}", "benign", source);
                }
            }
            File.WriteAllLines(Path.Combine(corpus, "a.jsonl"), Lines("toy/a", s_fillerA));
            File.WriteAllLines(Path.Combine(corpus, "b.jsonl"), Lines("toy/b", s_fillerB));
            return corpus;
        }
        float HealthQuestionScore(string corpus) =>
            new InputRails(SafetyRules.Load(RepoPaths.Safety, SafetyTrainer.Train(Prepare(corpus), embedder: null))).Inspect("zorblax glorp lantern").Crisis.Score;

        var few = HealthQuestionScore(Corpus("few", benignPerWord: 1));
        var many = HealthQuestionScore(Corpus("many", benignPerWord: 40));

        // With one weight for all other families' lines, the forty-fold benign requests took the score from 0.02 to 0.16.
        Assert.True(few < 0.4f, $"with few benign requests {few}");
        Assert.True(many - few < 0.05f, $"with many benign requests {many}, with few {few}");
    }

    [Fact]
    public void Load_DamagedFiles_FormatExceptionNamingTheFile()
    {
        var good = Path.Combine(_dir, "good.bin");
        SafetyTrainer.Train(Prepare(ToyCorpus()), embedder: null).Save(good);
        var bytes = File.ReadAllBytes(good);

        var truncated = Path.Combine(_dir, "truncated.bin");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var otherVersion = Path.Combine(_dir, "version.bin");
        var versioned = bytes.ToArray();
        BitConverter.GetBytes(SafetyModel.FormatVersion + 1).CopyTo(versioned, 8);
        File.WriteAllBytes(otherVersion, versioned);
        var notWeights = Path.Combine(_dir, "text.bin");
        File.WriteAllText(notWeights, "hello, this is not a weights file");

        Assert.Contains("truncated", Assert.Throws<FormatException>(() => SafetyModel.Load(truncated, null)).Message, StringComparison.Ordinal);
        var version = Assert.Throws<FormatException>(() => SafetyModel.Load(otherVersion, null)).Message;
        Assert.StartsWith(otherVersion, version, StringComparison.Ordinal);
        Assert.Contains($"format version {SafetyModel.FormatVersion + 1}", version, StringComparison.Ordinal);
        Assert.Contains("CPSAFETY", Assert.Throws<FormatException>(() => SafetyModel.Load(notWeights, null)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SafetyRules_WithoutWeightsFile_NamesTheFileAndTheCommand()
    {
        var copy = Path.Combine(_dir, "safety");
        CopyDirectory(RepoPaths.Safety, copy);
        File.Delete(Path.Combine(copy, SafetyRules.WeightsFile));

        var e = Assert.Throws<FileNotFoundException>(() => SafetyRules.Load(copy));
        Assert.Contains("safety train", e.Message, StringComparison.Ordinal);
        Assert.Contains("rails.bin", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShippedWeights_CurrentFormatWithEveryFamilyTheEnglishEmbeddingHeadsAndTheChineseWordClasses()
    {
        var model = SafetyModel.Load(Path.Combine(RepoPaths.Safety, SafetyRules.WeightsFile), embedder: null);

        Assert.Equal(SafetyFamilies.Classified.Order(), model.Families.Keys.Order());
        Assert.Equal(MiniLmEmbedder.ModelName, model.EmbedderName);
        Assert.Equal(384, model.EmbeddingDimensions);
        Assert.All(model.Families.Values, f => Assert.NotNull(f.EmbeddingHead));
        Assert.IsType<MlpHead>(model.Families[SafetyFamilies.Crisis].EmbeddingHead);
        Assert.IsType<MlpHead>(model.Families[SafetyFamilies.Harmful].EmbeddingHead);
        Assert.IsType<DenseLogisticRegression>(model.Families[SafetyFamilies.Medical].EmbeddingHead);
        Assert.Contains("not loaded", model.EmbedderStatus, StringComparison.Ordinal);
        // The Chinese word classes come with the file, and 偷 and 盗窃 (both "steal") share one.
        Assert.NotNull(model.WordClasses);
        Assert.Equal(1024, model.WordClasses.Count);
        Assert.Equal(model.WordClasses.ClassOf("盗窃"), model.WordClasses.ClassOf("偷"));
        Assert.NotEqual(model.WordClasses.ClassOf("盗窃"), model.WordClasses.ClassOf("苹果"));
    }

    [Fact]
    public void Rails_WithoutTheEmbedder_StillFireOnTheirOtherFeatures()
    {
        var rails = new InputRails(SafetyRules.Load(RepoPaths.Safety, embeddings: false));

        Assert.Null(rails.Rules.Model.Embedder);
        Assert.True(rails.Inspect("I want to kill myself tonight").Crisis.Fired);
        Assert.True(rails.Inspect("我不想活了").Crisis.Fired);
        Assert.False(rails.Inspect("What are the GRE rules?").Crisis.Fired);
    }

    [Fact]
    public void MiniLm_LoadsFromThePackage_EnglishOnly()
    {
        var embedder = MiniLmEmbedder.Shared(out var error);

        Assert.True(embedder is not null, error);
        Assert.Equal(384, embedder.Embed("I feel fine today").Length);
        Assert.True(embedder.Covers("I feel fine today"));
        Assert.False(embedder.Covers("我今天感觉很好"));
        Assert.NotNull(Rules.Safety.Model.Embedder);
    }

    [Fact]
    public void EmbeddingWindow_LongPost_KeepsTheSentenceWithTheDeathWish()
    {
        var filler = string.Concat(Enumerable.Repeat("School has been a lot this term and my roommate is loud. ", 6));
        var post = filler + "Honestly I just want to die and stop feeling this. " + filler;

        var window = SafetyModel.EmbeddingWindow(post);

        Assert.True(window.Length <= MiniLmEmbedder.MaxChars);
        Assert.Contains("I just want to die", window, StringComparison.Ordinal);
    }

    [Fact]
    public void RetrainFromSharedData_WhenPresent_GivesAFileInTheShippedFormat()
    {
        if (!Directory.Exists(SharedSafetyData)) Assert.Skip($"{SharedSafetyData} is not in this checkout");
        var items = SafetyCorpus.Read([SharedSafetyData, Path.Combine(RepoPaths.Safety, "examples")]);
        var path = Path.Combine(_dir, "retrained.bin");

        SafetyTrainer.Train(SafetyTrainer.Prepare(items, Rules.Safety.Normalizer, SafetyRules.LoadLexicons(RepoPaths.Safety), embedder: null), embedder: null).Save(path);

        var retrained = SafetyModel.Load(path, embedder: null);
        var shipped = SafetyModel.Load(Path.Combine(RepoPaths.Safety, SafetyRules.WeightsFile), embedder: null);
        Assert.Equal(shipped.Families.Keys.Order(), retrained.Families.Keys.Order());
        Assert.Equal(File.ReadAllBytes(path)[..12], File.ReadAllBytes(Path.Combine(RepoPaths.Safety, SafetyRules.WeightsFile))[..12]);
        // Every shared line's label maps to a family the file has a classifier for (PII is found by patterns).
        Assert.All(items, i => Assert.True(i.Family == SafetyFamilies.Pii || retrained.Families.ContainsKey(i.Family), i.Family));
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }
}
