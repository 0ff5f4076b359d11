using System.Text.Json;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Cli.Tests;

public sealed class KnowledgeCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("chatplatform-knowledge-cli-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private string[] Common(params string[] args) => [.. args, "--data-dir", Path.Combine(_dir, "data"), "--personas-dir", RepoPaths.Personas];

    [Fact]
    public async Task KnowledgeEval_ShippedGradChatSet_WritesFiguresInTheDocumentedShape()
    {
        var output = Path.Combine(_dir, "eval.json");

        var result = await CliRunner.RunAsync(Common("knowledge", "eval", "--persona", "gradchat", "--json", output));

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("recall@5", result.Out, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(output, TestContext.Current.CancellationToken));
        foreach (var key in new[] { "recall_at_1", "recall_at_5", "mrr", "p95_ms" })
            Assert.Equal(JsonValueKind.Number, doc.RootElement.GetProperty(key).ValueKind);
        // The shipped set's goal, per language.
        foreach (var locale in doc.RootElement.GetProperty("by_locale").EnumerateObject())
            Assert.True(locale.Value.GetProperty("recall_at_5").GetDouble() >= 0.9, $"{locale.Name}: {locale.Value}");
    }

    [Fact]
    public async Task KnowledgeAddSearchRemove_ChineseDocument_FoundThenGone()
    {
        var file = Path.Combine(_dir, "指南.md");
        await File.WriteAllTextAsync(file, "# 指南\n\n## 申请研究生的材料\n需要成绩单和两封推荐信。\n", TestContext.Current.CancellationToken);

        var add = await CliRunner.RunAsync(Common("knowledge", "add", "--persona", "gradchat", file));
        var search = await CliRunner.RunAsync(Common("knowledge", "search", "--persona", "gradchat", "研究生申请要什么材料"));
        var remove = await CliRunner.RunAsync(Common("knowledge", "remove", "--persona", "gradchat", "指南.md"));
        var after = await CliRunner.RunAsync(Common("knowledge", "list", "--persona", "gradchat"));

        Assert.Equal((0, "指南.md: added, 1 passage(s)"), (add.ExitCode, add.Out.Split(" in ")[0]));
        Assert.Contains("[1] 指南.md#申请研究生的材料", search.Out, StringComparison.Ordinal);
        Assert.Equal(0, remove.ExitCode);
        Assert.DoesNotContain("指南.md", after.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KnowledgeAdd_CorruptPdfAndUnknownPersona_OneLineErrors()
    {
        var pdf = Path.Combine(_dir, "broken.pdf");
        await File.WriteAllTextAsync(pdf, "%PDF-1.7 this is not really a PDF", TestContext.Current.CancellationToken);

        var corrupt = await CliRunner.RunAsync(Common("knowledge", "add", "--persona", "gradchat", pdf));
        var unknown = await CliRunner.RunAsync(Common("knowledge", "add", "--persona", "nobody", pdf));

        Assert.Equal(1, corrupt.ExitCode);
        Assert.StartsWith("broken.pdf: not a readable PDF", corrupt.Error.Trim(), StringComparison.Ordinal);
        Assert.Single(corrupt.Error.Trim().Split('\n'));
        Assert.Equal(1, unknown.ExitCode);
        Assert.StartsWith("--persona: unknown persona 'nobody'", unknown.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KnowledgeCuratedImport_Csv_ListedWithHits()
    {
        var csv = Path.Combine(_dir, "answers.csv");
        await File.WriteAllTextAsync(csv, "id,question,answer\nhours,When are you open?,Nine to five.\n", TestContext.Current.CancellationToken);

        var import = await CliRunner.RunAsync(Common("knowledge", "curated", "import", "--persona", "mindchat", csv));
        var list = await CliRunner.RunAsync(Common("knowledge", "curated", "list", "--persona", "mindchat"));

        Assert.Equal("answers.csv: 1 curated answer(s) for mindchat", import.Out.Trim());
        Assert.Contains("hours  hits 0", list.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void BuildOutput_JiebaDictionary_CopiedNextToTheCommand()
    {
        var folder = Path.GetDirectoryName(typeof(CliApp).Assembly.Location)!;

        Assert.True(File.Exists(Path.Combine(folder, "jieba", "dict.txt")), folder);
    }
}
