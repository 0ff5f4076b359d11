using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using ChatPlatform.Data;
using ChatPlatform.Inference.Local;
using ChatPlatform.Knowledge;
using ChatPlatform.Knowledge.Evaluation;
using ChatPlatform.Knowledge.Ingestion;
using ChatPlatform.Knowledge.Search;
using Microsoft.Extensions.AI;

namespace ChatPlatform.Cli.Commands;

/// <summary><c>chatplatform knowledge</c>: a persona's documents and curated answers, search, evaluation and benchmark.</summary>
internal static class KnowledgeCommands
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static Command Create(CliConsole console)
    {
        var persona = new Option<string>("--persona") { Description = "The persona (pack id) whose knowledge to use.", Required = true };
        var dataDir = new Option<string?>("--data-dir") { Description = "The data directory (default: ChatPlatform:DataDirectory from appsettings.json or the environment)." };
        var personasDir = new Option<string?>("--personas-dir") { Description = "The persona packs folder (default: ChatPlatform:PersonasDirectory, 'personas')." };

        var files = new Argument<string[]>("files") { Description = "Markdown, text, HTML or PDF files.", Arity = ArgumentArity.OneOrMore };
        var add = new Command("add", "Import documents into a persona's knowledge; a changed file replaces its passages, an unchanged one is skipped.")
        {
            persona, files, dataDir, personasDir,
        };
        add.SetAction(async (parse, ct) =>
        {
            var (knowledge, pack) = await OpenAsync(parse.GetValue(persona)!, parse.GetValue(dataDir), parse.GetValue(personasDir), ct);
            using var _ = knowledge;
            var failed = 0;
            foreach (var file in parse.GetValue(files)!)
            {
                var line = new ProgressLine(console.Error);
                try
                {
                    var result = await knowledge.AddFileAsync(pack.Id, file, progress: line, cancellationToken: ct);
                    line.Clear();
                    var pages = result.Pages > 0 ? string.Create(CultureInfo.InvariantCulture, $", {result.Pages} page(s)") : "";
                    await console.Out.WriteLineAsync(result.Status == IngestStatus.Unchanged
                        ? $"{result.Source}: unchanged"
                        : string.Create(CultureInfo.InvariantCulture, $"{result.Source}: {result.Status.ToString().ToLowerInvariant()}, {result.Chunks} passage(s){pages} in {result.Elapsed.TotalSeconds:F1} s"));
                }
                catch (KnowledgeImportException e)
                {
                    line.Clear();
                    await console.Error.WriteLineAsync(e.Message);
                    failed++;
                }
            }
            return failed == 0 ? 0 : 1;
        });

        var list = new Command("list", "List a persona's documents and curated answers.") { persona, dataDir, personasDir };
        list.SetAction(async (parse, ct) =>
        {
            var (knowledge, pack) = await OpenAsync(parse.GetValue(persona)!, parse.GetValue(dataDir), parse.GetValue(personasDir), ct);
            using var _ = knowledge;
            var docs = await knowledge.ListAsync(pack.Id, ct);
            var curated = await knowledge.ListCuratedAsync(pack.Id, ct);
            await console.Out.WriteLineAsync($"{docs.Count} document(s), {docs.Sum(d => d.Chunks)} passage(s); {curated.Count} curated answer(s)");
            foreach (var d in docs)
                await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"  {d.Source}  {d.Format}  {d.Chunks} passage(s){(d.Pages > 0 ? $", {d.Pages} page(s)" : "")}  {d.Origin}  {d.UpdatedAt:yyyy-MM-dd HH:mm}  \"{d.Title}\""));
            return 0;
        });

        var sources = new Argument<string[]>("sources") { Description = "Document names as 'knowledge list' shows them.", Arity = ArgumentArity.OneOrMore };
        var remove = new Command("remove", "Remove documents and their passages from a persona's knowledge.") { persona, sources, dataDir, personasDir };
        remove.SetAction(async (parse, ct) =>
        {
            var (knowledge, pack) = await OpenAsync(parse.GetValue(persona)!, parse.GetValue(dataDir), parse.GetValue(personasDir), ct);
            using var _ = knowledge;
            var missing = 0;
            foreach (var source in parse.GetValue(sources)!)
            {
                if (await knowledge.RemoveAsync(pack.Id, source, ct))
                {
                    await console.Out.WriteLineAsync($"{source}: removed");
                }
                else
                {
                    await console.Error.WriteLineAsync($"{source}: no such document in persona {pack.Id} (see 'chatplatform knowledge list --persona {pack.Id}')");
                    missing++;
                }
            }
            return missing == 0 ? 0 : 1;
        });

        var query = new Argument<string>("query") { Description = "The question to search for." };
        var top = new Option<int>("--top") { Description = "How many passages to show.", DefaultValueFactory = _ => 5 };
        var search = new Command("search", "Search a persona's knowledge as a chat turn would, showing scores and whether each passage counts as relevant.")
        {
            persona, query, top, dataDir, personasDir,
        };
        search.SetAction(async (parse, ct) =>
        {
            var (knowledge, pack) = await OpenAsync(parse.GetValue(persona)!, parse.GetValue(dataDir), parse.GetValue(personasDir), ct);
            using var _ = knowledge;
            var ranking = await knowledge.RankAsync(pack.Id, parse.GetValue(query)!, pack.Knowledge, Math.Clamp(parse.GetValue(top), 1, 50), ct);
            if (ranking.Curated is { } c)
                await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"curated {c.Id} (similarity {c.Score:F2}): {c.Title}\n  {c.Text}"));
            if (ranking.Passages.Count == 0 && ranking.Curated is null)
                await console.Out.WriteLineAsync("Nothing found.");
            var n = 0;
            foreach (var p in ranking.Passages)
            {
                var where = p.Section is null ? p.Title : $"{p.Title} — {p.Section}";
                if (p.Page is { } page) where += string.Create(CultureInfo.InvariantCulture, $", p. {page}");
                await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"[{++n}] {p.Id}  coverage {p.Coverage:F2}{(p.Relevant ? "" : " (below minRelevance)")}\n    {where}\n    {Excerpt(p.Text)}"));
            }
            return 0;
        });

        var csv = new Argument<string>("file") { Description = "CSV with a header row: question, answer (required); id, locale (optional)." };
        var author = new Option<string>("--author") { Description = "Who approved the answers.", DefaultValueFactory = _ => "cli" };
        var curatedImport = new Command("import", "Import curated answers; a row with an existing id replaces it (its hit count is kept). All rows or none.")
        {
            persona, csv, author, dataDir, personasDir,
        };
        curatedImport.SetAction(async (parse, ct) =>
        {
            var (knowledge, pack) = await OpenAsync(parse.GetValue(persona)!, parse.GetValue(dataDir), parse.GetValue(personasDir), ct);
            using var _ = knowledge;
            var path = parse.GetValue(csv)!;
            try
            {
                var saved = await knowledge.ImportCuratedCsvAsync(pack.Id, path, parse.GetValue(author)!, ct);
                await console.Out.WriteLineAsync($"{Path.GetFileName(path)}: {saved.Count} curated answer(s) for {pack.Id}");
                return 0;
            }
            catch (KnowledgeImportException e)
            {
                throw new CliException(e.Message);
            }
        });
        var curatedList = new Command("list", "List curated answers with how often each was sent.") { persona, dataDir, personasDir };
        curatedList.SetAction(async (parse, ct) =>
        {
            var (knowledge, pack) = await OpenAsync(parse.GetValue(persona)!, parse.GetValue(dataDir), parse.GetValue(personasDir), ct);
            using var _ = knowledge;
            foreach (var a in await knowledge.ListCuratedAsync(pack.Id, ct))
                await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{a.Id}  hits {a.Hits}  {a.Locale ?? "-"}  {a.Question}"));
            return 0;
        });
        var ids = new Argument<string[]>("ids") { Description = "Curated answer ids.", Arity = ArgumentArity.OneOrMore };
        var curatedRemove = new Command("remove", "Remove curated answers.") { persona, ids, dataDir, personasDir };
        curatedRemove.SetAction(async (parse, ct) =>
        {
            var (knowledge, pack) = await OpenAsync(parse.GetValue(persona)!, parse.GetValue(dataDir), parse.GetValue(personasDir), ct);
            using var _ = knowledge;
            var missing = 0;
            foreach (var id in parse.GetValue(ids)!)
            {
                if (await knowledge.RemoveCuratedAsync(pack.Id, id, ct)) await console.Out.WriteLineAsync($"{id}: removed");
                else { await console.Error.WriteLineAsync($"{id}: no such curated answer in persona {pack.Id}"); missing++; }
            }
            return missing == 0 ? 0 : 1;
        });
        var curated = new Command("curated", "Operator-approved answers sent as they are, with no model call.") { curatedImport, curatedList, curatedRemove };

        var input = new Option<string?>("--input") { Description = "Questions as JSON lines {\"id\", \"locale\", \"question\", \"expect\": [ids]} (default: the pack's evals/knowledge.jsonl)." };
        var json = new Option<string?>("--json") { Description = "Also write {\"recall_at_1\", \"recall_at_5\", \"mrr\", \"p95_ms\", …} to this file." };
        var verbose = new Option<bool>("--misses") { Description = "Print every question whose expected id is not in the top 5." };
        var eval = new Command("eval", "Measure retrieval on a question set: recall@1, recall@5, MRR and time per question. The pack's knowledge/ folder is imported first.")
        {
            persona, input, json, verbose, dataDir, personasDir,
        };
        eval.SetAction(async (parse, ct) =>
        {
            var (knowledge, pack) = await OpenAsync(parse.GetValue(persona)!, parse.GetValue(dataDir), parse.GetValue(personasDir), ct);
            using var _ = knowledge;
            var path = parse.GetValue(input) ?? Path.Combine(pack.Directory, PackLoader.EvalsFolderName, PackLoader.KnowledgeEvalFileName);
            if (!File.Exists(path)) throw new CliException($"--input: file '{path}' not found.");
            List<KnowledgeEvalCase> cases;
            try
            {
                cases = KnowledgeEvaluator.Read(path);
            }
            catch (KnowledgeImportException e)
            {
                throw new CliException(e.Message);
            }
            var sync = await knowledge.SyncPackAsync(pack, ct);
            foreach (var problem in sync.Problems) await console.Error.WriteLineAsync(problem);
            var report = await KnowledgeEvaluator.RunAsync(knowledge, pack, cases, ct);
            var o = console.Out;
            await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{pack.Id}: {report.Questions} question(s)  recall@1 {report.RecallAt1:F3}  recall@5 {report.RecallAt5:F3}  MRR {report.Mrr:F3}  mean {report.MeanMs:F1} ms  p95 {report.P95Ms:F1} ms"));
            foreach (var (locale, f) in report.ByLocale)
                await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"  {locale,-6} {f.Questions,3} question(s)  recall@1 {f.RecallAt1:F3}  recall@5 {f.RecallAt5:F3}  MRR {f.Mrr:F3}"));
            if (parse.GetValue(verbose))
                foreach (var miss in report.Cases.Where(c => c.Rank is null))
                    await o.WriteLineAsync($"  miss {miss.Id}: found {string.Join(", ", miss.Found)}");
            if (parse.GetValue(json) is { } jsonPath)
            {
                await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(report, s_json), ct);
                await o.WriteLineAsync($"wrote {jsonPath}");
            }
            return 0;
        });

        return new Command("knowledge", "A persona's documents and curated answers: import, list, remove, search, evaluate.")
        {
            add, list, remove, search, curated, eval, KnowledgeBench.Create(console),
        };
    }

    private static string Excerpt(string text)
    {
        var flat = text.ReplaceLineEndings(" ");
        return flat.Length > 160 ? flat[..160] + "…" : flat;
    }

    /// <summary>Opens the configured store (schema brought up to date) and this node's index, and finds the persona's pack.</summary>
    internal static async Task<(KnowledgeBase Knowledge, PersonaPack Pack)> OpenAsync(string personaId, string? dataDirectory, string? personasDirectory, CancellationToken cancellationToken)
    {
        var options = CliSettings.Load();
        if (dataDirectory is { Length: > 0 }) options.DataDirectory = dataDirectory;
        if (personasDirectory is { Length: > 0 }) options.PersonasDirectory = personasDirectory;
        CliSettings.ThrowIfInvalid(options);
        var packs = PackLoader.LoadAll(options.PersonasDirectory);
        var pack = packs.Packs.FirstOrDefault(p => p.Id == personaId)
            ?? throw new CliException($"--persona: unknown persona '{personaId}'. Available: {string.Join(", ", packs.Packs.Select(p => p.Id))}.");
        var store = options.CreateDbContextFactory();
        try
        {
            await ChatDatabase.MigrateAsync(store, cancellationToken);
        }
        catch (DatabaseMigrationException e)
        {
            throw new CliException(e.Message);
        }
        IEmbeddingGenerator<string, Embedding<float>>? embedder = string.IsNullOrWhiteSpace(options.Knowledge.EmbeddingModelPath)
            ? null
            : new LlamaEmbeddingGenerator(options.Knowledge.EmbeddingModelPath, options.Model.Threads);
        // The command is the only reader here, so the store is checked on every call.
        return (new KnowledgeBase(store, new KnowledgeIndex(options.KnowledgeIndexPath), embedder, TimeSpan.Zero), pack);
    }

    /// <summary>One progress line on standard error, rewritten in place ("reading pages 120/900").</summary>
    private sealed class ProgressLine(TextWriter error) : IProgress<IngestProgress>
    {
        private bool _shown;

        public void Report(IngestProgress value)
        {
            if (value.Total < 50) return;
            error.Write(string.Create(CultureInfo.InvariantCulture, $"\r{value.Source}: {value.Stage} {value.Done}/{value.Total}   "));
            _shown = true;
        }

        public void Clear()
        {
            if (_shown) error.Write("\r" + new string(' ', 79) + "\r");
            _shown = false;
        }
    }
}
