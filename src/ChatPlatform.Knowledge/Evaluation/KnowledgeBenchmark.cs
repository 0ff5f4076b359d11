using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using ChatPlatform.Data;
using ChatPlatform.Knowledge.Search;

namespace ChatPlatform.Knowledge.Evaluation;

public sealed record KnowledgeBenchmarkResult(
    [property: JsonPropertyName("ingest_pages")] int IngestPages,
    [property: JsonPropertyName("ingest_chars")] long IngestChars,
    [property: JsonPropertyName("ingest_passages")] int IngestPassages,
    [property: JsonPropertyName("ingest_seconds")] double IngestSeconds,
    [property: JsonPropertyName("search_chunks")] int SearchChunks,
    [property: JsonPropertyName("search_queries")] int SearchQueries,
    [property: JsonPropertyName("search_mean_ms")] double SearchMeanMs,
    [property: JsonPropertyName("search_p95_ms")] double SearchP95Ms,
    [property: JsonPropertyName("search_max_ms")] double SearchMaxMs);

/// <summary>
/// Measures import and search on generated bilingual text (a benchmark, not a test): one document of N pages
/// (about 1,800 characters a page, half English, half Chinese, from generated vocabularies of 3,000 words each with a Zipf-like skew) imported into an empty store, then questions against
/// a persona holding about M passages. Runs in a temporary folder and leaves nothing behind.
/// </summary>
public static class KnowledgeBenchmark
{
    public const int CharsPerPage = 1800;

    public static async Task<KnowledgeBenchmarkResult> RunAsync(int pages, int chunks, int queries, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        var folder = Directory.CreateTempSubdirectory("chatplatform-knowledge-bench-").FullName;
        try
        {
            var store = new ChatDbContextFactory(folder);
            await ChatDatabase.MigrateAsync(store, cancellationToken);
            using var index = new KnowledgeIndex(new KnowledgeOptions().IndexFileIn(folder));
            using var knowledge = new KnowledgeBase(store, index, null, TimeSpan.FromMinutes(10));
            TextAnalyzer.Warm();
            var random = new Random(7);

            // 1. Import N pages as one Markdown document: sections of a few pages each.
            progress?.Report($"writing a {pages}-page document");
            var book = Path.Combine(folder, "book.md");
            var chars = await WriteBookAsync(book, pages, random, cancellationToken);
            progress?.Report($"importing {pages} pages");
            var stopwatch = Stopwatch.StartNew();
            var ingest = await knowledge.AddFileAsync("bench-ingest", book, cancellationToken: cancellationToken);
            var ingestSeconds = stopwatch.Elapsed.TotalSeconds;

            // 2. Fill a persona up to the passage count and time questions drawn from its own passages.
            progress?.Report($"importing {chunks} passages for search");
            var made = 0;
            var doc = 0;
            while (made < chunks)
            {
                var size = Math.Min(1000, chunks - made);
                var path = Path.Combine(folder, $"part-{doc++}.md");
                await File.WriteAllTextAsync(path, Sections(size, random), cancellationToken);
                made += (await knowledge.AddFileAsync("bench-search", path, cancellationToken: cancellationToken)).Chunks;
            }
            progress?.Report($"{queries} questions over {made} passages");
            var pack = new KnowledgeSettings();
            var times = new List<double>();
            for (var i = 0; i < queries + 10; i++)
            {
                var question = Question(random);
                stopwatch.Restart();
                await knowledge.RankAsync("bench-search", question, pack, 5, cancellationToken);
                if (i >= 10) times.Add(stopwatch.Elapsed.TotalMilliseconds); // the first questions warm the caches
            }
            times.Sort();
            return new KnowledgeBenchmarkResult(pages, chars, ingest.Chunks, Math.Round(ingestSeconds, 2), made, queries,
                Math.Round(times.Average(), 2), KnowledgeEvaluator.Percentile(times, 0.95), Math.Round(times[^1], 2));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    public static string ToTable(KnowledgeBenchmarkResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return string.Create(CultureInfo.InvariantCulture, $"""
            import: {r.IngestPages} pages ({r.IngestChars / 1_000_000.0:F1} M characters, {r.IngestPassages} passages) in {r.IngestSeconds:F1} s
            search: {r.SearchQueries} questions over {r.SearchChunks} passages: mean {r.SearchMeanMs:F2} ms, p95 {r.SearchP95Ms:F2} ms, max {r.SearchMaxMs:F2} ms
            """);
    }

    private static readonly string[] EnglishGlue = ["the", "a", "of", "for", "and", "to", "in", "with", "must", "is", "are", "before", "after"];

    private static readonly string[] ChineseGlue = ["的", "在", "和", "需要", "之前", "之后", "可以", "应当", "通过"];

    private static readonly string[] Syllables =
    [
        "ap", "pli", "ca", "tion", "dead", "line", "schol", "ar", "ship", "tran", "script", "ref", "er", "ence", "in", "ter",
        "view", "pro", "gram", "tu", "i", "de", "pos", "it", "vi", "sa", "coun", "sel", "ling", "phar", "ma", "cy", "an",
        "ti", "bi", "ot", "ic", "stor", "age", "al", "ler", "gy", "stu", "dent", "re", "search", "de", "gree", "lan", "guage",
    ];

    private static readonly string HanCharacters =
        "申请研究生截止日期奖学金成绩单推荐信面试学费押金签证心理咨询预约转介保密讲座药房抗生素说明书储存过敏学位语言要求材料系统费用录取课程" +
        "学期图书馆考试宿舍保险导师论文实验室分注册安排时间地点办法流程条件资格证明文件网站邮件电话服务中心部门老师同学家庭健康医生医院治疗";

    /// <summary>A vocabulary of generated words (about 3,000 per language), drawn with a Zipf-like skew as real text is.</summary>
    private static readonly Lazy<(string[] English, string[] Chinese)> Vocabulary = new(() =>
    {
        var random = new Random(11);
        var english = new HashSet<string>(StringComparer.Ordinal);
        while (english.Count < 3000)
            english.Add(string.Concat(Enumerable.Range(0, random.Next(2, 4)).Select(_ => Syllables[random.Next(Syllables.Length)])));
        var chinese = new HashSet<string>(StringComparer.Ordinal);
        while (chinese.Count < 3000)
            chinese.Add(string.Concat(Enumerable.Range(0, random.Next(2, 4)).Select(_ => HanCharacters[random.Next(HanCharacters.Length)])));
        return ([.. english], [.. chinese]);
    });

    private static string Word(Random random, bool chinese)
    {
        var words = chinese ? Vocabulary.Value.Chinese : Vocabulary.Value.English;
        // Zipf-like: rank r is drawn with probability about 1/r.
        var rank = (int)Math.Floor(Math.Pow(words.Length, random.NextDouble())) - 1;
        return words[Math.Clamp(rank, 0, words.Length - 1)];
    }

    private static string Sentence(Random random, bool chinese)
    {
        var words = new List<string>();
        var n = random.Next(8, 16);
        for (var i = 0; i < n; i++)
            words.Add(i % 3 == 1 ? (chinese ? ChineseGlue : EnglishGlue)[random.Next(chinese ? ChineseGlue.Length : EnglishGlue.Length)] : Word(random, chinese));
        return chinese ? string.Concat(words) + "。" : string.Join(' ', words) + ". ";
    }

    private static string Paragraph(Random random, int chars)
    {
        var text = new StringBuilder();
        var chinese = random.Next(2) == 0;
        while (text.Length < chars) text.Append(Sentence(random, chinese));
        return text.ToString();
    }

    private static async Task<long> WriteBookAsync(string path, int pages, Random random, CancellationToken cancellationToken)
    {
        await using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
        long chars = 0;
        await writer.WriteLineAsync("# Generated handbook");
        for (var page = 1; page <= pages; page++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (page % 3 == 1) await writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"\n## Chapter {page / 3 + 1}\n"));
            for (var p = 0; p < 3; p++)
            {
                var paragraph = Paragraph(random, CharsPerPage / 3);
                chars += paragraph.Length;
                await writer.WriteLineAsync(paragraph + "\n");
            }
        }
        return chars;
    }

    private static string Sections(int count, Random random)
    {
        var text = new StringBuilder("# Generated part\n");
        for (var i = 0; i < count; i++)
            text.Append(CultureInfo.InvariantCulture, $"\n## Section {i}\n\n").Append(Paragraph(random, 600)).Append('\n');
        return text.ToString();
    }

    private static string Question(Random random) => random.Next(2) == 0
        ? $"How does the {Word(random, false)} {Word(random, false)} work for {Word(random, false)}?"
        : $"{Word(random, true)}{Word(random, true)}的{Word(random, true)}怎么办？";
}
