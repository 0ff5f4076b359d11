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
/// (about 1,800 characters a page, half English, half Chinese) imported into an empty store, then questions against
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
            var options = new ChatPlatformOptions { DataDirectory = folder };
            var store = new ChatDbContextFactory(options);
            await ChatDatabase.MigrateAsync(store, cancellationToken);
            using var index = new KnowledgeIndex(options.KnowledgeIndexPath);
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

    private static readonly string[] English =
    [
        "application", "deadline", "scholarship", "transcript", "reference", "interview", "programme", "tuition", "deposit", "visa",
        "counselling", "appointment", "referral", "confidential", "workshop", "pharmacy", "antibiotic", "leaflet", "storage", "allergy",
        "student", "research", "degree", "language", "requirement", "document", "portal", "fee", "offer", "course", "semester",
        "library", "exam", "housing", "insurance", "supervisor", "thesis", "laboratory", "credit", "grade", "enrolment", "schedule",
    ];

    private static readonly string[] EnglishGlue = ["the", "a", "of", "for", "and", "to", "in", "with", "must", "is", "are", "before", "after"];

    private static readonly string[] Chinese =
    [
        "申请", "研究生", "截止日期", "奖学金", "成绩单", "推荐信", "面试", "学费", "押金", "签证", "心理咨询", "预约", "转介",
        "保密", "讲座", "药房", "抗生素", "说明书", "储存", "过敏", "学生", "研究", "学位", "语言", "要求", "材料", "系统",
        "费用", "录取", "课程", "学期", "图书馆", "考试", "宿舍", "保险", "导师", "论文", "实验室", "学分", "成绩", "注册", "安排",
    ];

    private static readonly string[] ChineseGlue = ["的", "在", "和", "需要", "之前", "之后", "可以", "应当", "通过"];

    private static string Sentence(Random random, bool chinese)
    {
        var words = new List<string>();
        var n = random.Next(8, 16);
        for (var i = 0; i < n; i++)
            words.Add(i % 3 == 1 ? (chinese ? ChineseGlue : EnglishGlue)[random.Next(chinese ? ChineseGlue.Length : EnglishGlue.Length)]
                : (chinese ? Chinese : English)[random.Next(chinese ? Chinese.Length : English.Length)]);
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
        ? $"How does the {English[random.Next(English.Length)]} {English[random.Next(English.Length)]} work for {English[random.Next(English.Length)]}?"
        : $"{Chinese[random.Next(Chinese.Length)]}{Chinese[random.Next(Chinese.Length)]}的{Chinese[random.Next(Chinese.Length)]}怎么办？";
}
