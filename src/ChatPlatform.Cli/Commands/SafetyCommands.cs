using System.CommandLine;
using System.Globalization;
using ChatPlatform.Core.Personas;
using ChatPlatform.Safety.Detection;
using ChatPlatform.Safety.Evaluation;
using ChatPlatform.Safety.Rails;
using ChatPlatform.Safety.Text;
using ChatPlatform.Safety.Training;

namespace ChatPlatform.Cli.Commands;

internal static class SafetyCommands
{
    public static Command Create(CliConsole console) => new("safety", "Safety rails: evaluate and train the input classifiers.")
    {
        EvalCommand(console),
        TrainCommand(console),
        WordClassesCommand(console),
        GatherCommand(console),
    };

    private static Option<string?> WordClassesOption() => new("--word-classes")
    {
        Description = "A word-classes file ('chatplatform safety word-classes'): the n-gram tables also read the classes of Chinese words, and the classes go into the weights file.",
    };

    private static Command EvalCommand(CliConsole console)
    {
        var input = new Option<string?>("--input") { Description = "JSON lines {\"text\", \"label\", \"lang\"} to score with the rails as they are: a file, or a folder of *.jsonl files ('safety gather' output)." };
        var crossSource = new Option<bool>("--cross-source") { Description = "Leave each source of --corpus out in turn: train on the others, score it. Estimates how the rails do on messages from sources nobody tuned them on." };
        var corpus = new Option<string[]>("--corpus") { Description = "With --cross-source: training corpora (folders of *.jsonl or files; lines {\"text\", \"label\", \"lang\", \"source\"}).", AllowMultipleArgumentsPerToken = true };
        var persona = new Option<string?>("--persona") { Description = "Score as this persona does: families whose rail the pack does not enable never fire." };
        var json = new Option<string?>("--json") { Description = "Also write the report as JSON to this file." };
        var safetyDir = new Option<string?>("--safety-dir") { Description = "The safety folder (default: ChatPlatform:SafetyDirectory, 'safety')." };
        var personasDir = new Option<string?>("--personas-dir") { Description = "The persona packs folder (default: ChatPlatform:PersonasDirectory, 'personas')." };
        var errors = new Option<bool>("--errors") { Description = "Print every misclassified line (FP/FN, family, language, text)." };
        var noEmbeddings = new Option<bool>("--no-embeddings") { Description = "Run the classifiers without sentence embeddings (n-grams and cues only)." };
        var leaveOut = new Option<string[]>("--leave-out")
        {
            Description = "With --cross-source: leave out only these sources (as the report names them), not every source in turn; a quicker check of a change on the sources it matters to.",
            AllowMultipleArgumentsPerToken = true,
        };
        var wordClasses = WordClassesOption();
        var eval = new Command("eval", "Run the input rails over labelled lines; report precision, recall, F1 and false-positive rate per family and language, and latency.")
        {
            input, crossSource, corpus, leaveOut, wordClasses, persona, json, errors, noEmbeddings, safetyDir, personasDir,
        };
        eval.SetAction(parse =>
        {
            var settings = CliSettings.Load();
            var safety = parse.GetValue(safetyDir) ?? settings.SafetyDirectory;
            var jsonPath = parse.GetValue(json) is { } j ? CliException.OutputFile(j, "--json") : null;
            if (parse.GetValue(crossSource))
                return CrossSource(console, safety, parse.GetValue(corpus) ?? [], !parse.GetValue(noEmbeddings), parse.GetValue(wordClasses), jsonPath, parse.GetValue(errors), parse.GetValue(leaveOut) ?? []);
            if (parse.GetValue(wordClasses) is not null) throw new CliException("--word-classes goes with --cross-source; with --input the rails read the classes in their weights file.");
            if (parse.GetValue(input) is not { } path) throw new CliException("--input is required (or --cross-source with --corpus).");
            if (!File.Exists(path) && !Directory.Exists(path)) throw new CliException($"--input: no file or folder '{path}'.");
            List<EvalItem> items;
            try
            {
                items = SafetyCorpus.Read([path]);
            }
            catch (FormatException e)
            {
                throw new CliException(e.Message);
            }
            if (items.Count == 0) throw new CliException($"--input: '{path}' has no lines to score.");

            var rules = LoadRules(safety, !parse.GetValue(noEmbeddings));
            if (rules.Model.EmbedderStatus is { } status) console.Out.WriteLine($"Sentence embeddings off: {status}.");

            PersonaPack? scoredAs = null;
            if (parse.GetValue(persona) is { } id)
            {
                var packs = PackLoader.LoadAll(parse.GetValue(personasDir) ?? settings.PersonasDirectory);
                var pack = packs.Packs.FirstOrDefault(p => p.Id == id)
                    ?? throw new CliException($"--persona: unknown persona '{id}'. Available: {string.Join(", ", packs.Packs.Select(p => p.Id))}.");
                scoredAs = pack;
                items = items.Where(i => Enabled(pack, i.Family) || !i.Positive).ToList();
                var off = SafetyFamilies.All.Where(f => !Enabled(pack, f)).ToList();
                if (off.Count > 0) console.Out.WriteLine($"Persona {id} does not enable: {string.Join(", ", off)} (their positives are skipped).");
            }

            var showErrors = parse.GetValue(errors);
            var report = SafetyEvaluator.Run(new InputRails(rules), items,
                showErrors ? (item, finding) => console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{(finding.Fired ? "FP" : "FN")} {item.Family} {item.Lang} lexicon={finding.Lexicon} score={finding.Score:0.00} {item.Text.ReplaceLineEndings(" ")}")) : null,
                scoredAs);
            Print(console.Out, report.Families);
            console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"latency ms per message: p50 {report.LatencyMs.P50:0.000}, p99 {report.LatencyMs.P99:0.000}"));
            if (jsonPath is { } outPath)
            {
                File.WriteAllText(outPath, report.ToJson());
                console.Out.WriteLine($"Wrote {outPath}");
            }
            return 0;
        });
        return eval;
    }

    private static Command TrainCommand(CliConsole console)
    {
        var corpus = new Option<string[]>("--corpus") { Description = "Training corpora: folders of *.jsonl or files; lines {\"text\", \"label\", \"lang\", \"source\"}.", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out") { Description = "The weights file to write (the rails read safety/weights/rails.bin).", Required = true };
        var safetyDir = new Option<string?>("--safety-dir") { Description = "The safety folder whose normaliser is used (default: ChatPlatform:SafetyDirectory, 'safety')." };
        var noEmbeddings = new Option<bool>("--no-embeddings") { Description = "Train without sentence embeddings (n-grams and cues only)." };
        var wordClasses = WordClassesOption();
        var train = new Command("train", "Train the input classifiers from labelled corpora and write the weights file (numbers only, no training text).")
        {
            corpus, output, wordClasses, noEmbeddings, safetyDir,
        };
        train.SetAction(parse =>
        {
            var settings = CliSettings.Load();
            var safety = parse.GetValue(safetyDir) ?? settings.SafetyDirectory;
            var outPath = CliException.OutputFile(parse.GetValue(output)!, "--out");
            var prepared = Prepare(console, safety, parse.GetValue(corpus)!, !parse.GetValue(noEmbeddings), parse.GetValue(wordClasses), out var embedder, out var classes);
            var model = SafetyTrainer.Train(prepared, embedder, line => console.Out.WriteLine(line), classes);
            model.Save(outPath);
            var with = (model.EmbedderName.Length > 0 ? "with " + model.EmbedderName : "without sentence embeddings")
                + (model.WordClasses is { } c ? $", word classes {c.Name}" : ", without word classes");
            console.Out.WriteLine($"Wrote {outPath} ({new FileInfo(outPath).Length / 1024} KiB, {with}).");
            return 0;
        });
        return train;
    }

    private static Command WordClassesCommand(CliConsole console)
    {
        var dictionary = new Option<string?>("--dictionary") { Description = "A CC-CEDICT file (cedict_ts.u8): TRADITIONAL SIMPLIFIED [pinyin] /gloss/gloss/ per line." };
        var fromWeights = new Option<string?>("--from-weights") { Description = "Instead of --dictionary: write out the classes a weights file holds (e.g. safety/weights/rails.bin), to retrain with the very classes that ship." };
        var output = new Option<string>("--out") { Description = "The word-classes file to write (give it to 'safety train --word-classes').", Required = true };
        var count = new Option<int>("--classes") { Description = "How many classes (default 1024, as shipped).", DefaultValueFactory = _ => 1024 };
        var command = new Command("word-classes", "Group the words of a Chinese–English dictionary into classes of like meaning, by the English sentence embedding of their glosses (the file keeps word hashes and class numbers only).")
        {
            dictionary, fromWeights, output, count,
        };
        command.SetAction(parse =>
        {
            var outPath = CliException.OutputFile(parse.GetValue(output)!, "--out");
            if (parse.GetValue(fromWeights) is { } weights)
            {
                if (parse.GetValue(dictionary) is not null) throw new CliException("--from-weights and --dictionary exclude each other: give one.");
                if (!File.Exists(weights)) throw new CliException($"--from-weights: file '{weights}' not found.");
                WordClasses shipped;
                try
                {
                    shipped = SafetyModel.Load(weights, embedder: null).WordClasses
                        ?? throw new CliException($"--from-weights: '{weights}' was trained without word classes.");
                }
                catch (Exception e) when (e is FormatException or IOException)
                {
                    throw new CliException($"--from-weights: {e.Message}");
                }
                shipped.Save(outPath);
                console.Out.WriteLine($"Wrote {outPath} ({new FileInfo(outPath).Length / 1024} KiB, {shipped.Name}).");
                return 0;
            }
            var path = parse.GetValue(dictionary) ?? throw new CliException("--dictionary is required (or --from-weights).");
            var classes = parse.GetValue(count);
            if (!File.Exists(path)) throw new CliException($"--dictionary: file '{path}' not found.");
            if (classes is < 2 or > 65535) throw new CliException($"--classes: {classes} is out of range (2 to 65535).");
            List<WordClassBuilder.Entry> entries;
            try
            {
                entries = WordClassBuilder.Read(File.ReadLines(path));
            }
            catch (FormatException e)
            {
                throw new CliException($"--dictionary: {e.Message}");
            }
            if (entries.Count < classes) throw new CliException($"--dictionary: '{path}' has {entries.Count} Chinese words with an English gloss, fewer than --classes {classes}.");
            var embedder = MiniLmEmbedder.Shared(out var error) ?? throw new CliException($"The English sentence embedder cannot load here: {error}.");
            var date = File.ReadLines(path).Take(40).FirstOrDefault(l => l.StartsWith("#! date=", StringComparison.Ordinal))?[8..].Trim();
            var name = string.Create(CultureInfo.InvariantCulture,
                $"CC-CEDICT{(date is { Length: >= 10 } ? " " + date[..10] : "")} ({entries.Count:N0} words, {classes} classes)");
            console.Out.WriteLine($"Embedding the glosses of {entries.Count} words (a few minutes)...");
            var built = WordClassBuilder.Build(name, entries, embedder.EmbedMany, classes, console.Out.WriteLine);
            built.Save(outPath);
            console.Out.WriteLine($"Wrote {outPath} ({new FileInfo(outPath).Length / 1024} KiB, {name}).");
            return 0;
        });
        return command;
    }

    private static Command GatherCommand(CliConsole console)
    {
        var recipes = new Option<string?>("--recipes") { Description = "The recipes (default: corpora.json in the safety folder)." };
        var repos = new Option<string>("--repos") { Description = "A folder with a checkout of each repository the recipes read, at owner/name, at the commit the recipe names.", Required = true };
        var output = new Option<string>("--out") { Description = "The folder to write the corpora to, one owner+name.jsonl per repository (give it to 'safety train --corpus').", Required = true };
        var safetyDir = new Option<string?>("--safety-dir") { Description = "The safety folder (default: ChatPlatform:SafetyDirectory, 'safety')." };
        var command = new Command("gather", "Build the training corpora from checkouts of public repositories, as the recipes in safety/corpora.json say: the same lines every time, kept outside the repository.")
        {
            recipes, repos, output, safetyDir,
        };
        command.SetAction(parse =>
        {
            var settings = CliSettings.Load();
            var path = parse.GetValue(recipes) ?? Path.Combine(parse.GetValue(safetyDir) ?? settings.SafetyDirectory, "corpora.json");
            var folder = parse.GetValue(repos)!;
            var outPath = parse.GetValue(output)!;
            if (!File.Exists(path)) throw new CliException($"--recipes: file '{path}' not found.");
            if (!Directory.Exists(folder)) throw new CliException($"--repos: folder '{folder}' does not exist.");
            try
            {
                var loaded = CorpusRecipes.Load(path);
                var gathered = loaded.Gather(folder, console.Out.WriteLine);
                CorpusRecipes.Write(gathered, outPath);
                console.Out.WriteLine($"Wrote {gathered.Values.Sum(l => l.Count)} lines from {gathered.Count} repositories to {outPath}.");
            }
            catch (Exception e) when (e is FormatException or InvalidDataException or IOException)
            {
                throw new CliException(e.Message);
            }
            return 0;
        });
        return command;
    }

    private static int CrossSource(CliConsole console, string safety, string[] corpora, bool embeddings, string? wordClasses, string? json, bool errors, string[] leaveOut)
    {
        if (corpora.Length == 0) throw new CliException("--cross-source needs --corpus (one or more folders or files).");
        var prepared = Prepare(console, safety, corpora, embeddings, wordClasses, out var embedder, out var classes);
        CrossSourceReport report;
        try
        {
            report = CrossSourceEvaluator.Run(prepared, safety, embedder, line => console.Out.WriteLine(line),
                errors ? (item, finding) => console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{(finding.Fired ? "FP" : "FN")} {item.Family} {item.Lang} {item.Source} lexicon={finding.Lexicon} score={finding.Score:0.00} {item.Text.ReplaceLineEndings(" ")}")) : null,
                errors ? (item, family, finding) => console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"FA {family} on {item.Family} {item.Lang} {item.Source} lexicon={finding.Lexicon} score={finding.Score:0.00} {item.Text.ReplaceLineEndings(" ")}")) : null,
                leaveOut, classes);
        }
        catch (ArgumentException e)
        {
            throw new CliException($"{(e.ParamName == "leaveOut" ? "--leave-out" : "--corpus")}: {e.Message.Split(" (Parameter")[0]}.");
        }
        console.Out.WriteLine("Pooled over left-out sources:");
        Print(console.Out, report.Pooled);
        console.Out.WriteLine("Mean over sources (recall over sources with positives, FPR over sources with negatives):");
        foreach (var (family, langs) in report.Mean)
            foreach (var (lang, m) in langs)
                console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{family,-10} {lang,-5} recall {Format(m.Recall)} ({m.SourcesWithPositives} sources)  fpr {Format(m.Fpr)} ({m.SourcesWithNegatives} sources)"));
        console.Out.WriteLine("False alarms on ordinary lines of the other families (e.g. crisis firing on a benign request):");
        foreach (var (family, langs) in report.FprOnOtherFamilies)
            console.Out.WriteLine($"{family,-10} " + string.Join("  ", langs.Select(l => string.Create(CultureInfo.InvariantCulture, $"{l.Key} {l.Value:0.0000}"))));
        console.Out.WriteLine("Pooled recall / FPR if the classifier's threshold were:");
        foreach (var (family, langs) in report.Thresholds)
            foreach (var (lang, points) in langs)
                console.Out.WriteLine($"{family,-10} {lang,-5} " + string.Join("  ", points.Where((_, i) => i % 2 == 0).Select(p =>
                    string.Create(CultureInfo.InvariantCulture, $"{p.Threshold:0.00}:{p.Recall:0.00}/{p.Fpr:0.00}"))));
        if (json is not null)
        {
            File.WriteAllText(json, report.ToJson());
            console.Out.WriteLine($"Wrote {json}");
        }
        return 0;
    }

    /// <summary>A mean as the JSON report holds it, to four decimals (rounding it again to three could move the last digit).</summary>
    private static string Format(double? value) => value is { } v ? v.ToString("0.0000", CultureInfo.InvariantCulture) : "   –  ";

    private static List<PreparedItem> Prepare(CliConsole console, string safety, string[] corpora, bool embeddings, string? wordClassesPath,
        out ISentenceEmbedder? embedder, out WordClasses? wordClasses)
    {
        wordClasses = null;
        if (wordClassesPath is not null)
        {
            if (!File.Exists(wordClassesPath)) throw new CliException($"--word-classes: file '{wordClassesPath}' not found.");
            try
            {
                wordClasses = WordClasses.Load(wordClassesPath);
            }
            catch (Exception e) when (e is FormatException or IOException)
            {
                throw new CliException($"--word-classes: {e.Message}");
            }
        }
        List<EvalItem> items;
        try
        {
            items = SafetyCorpus.Read(corpora);
        }
        catch (Exception e) when (e is FormatException or IOException)
        {
            throw new CliException($"--corpus: {e.Message}");
        }
        if (items.Count == 0) throw new CliException("--corpus: no lines to train on.");
        var sources = items.GroupBy(i => i.Source).Select(g => $"{g.Key} {g.Count()}");
        console.Out.WriteLine($"{items.Count} lines from {items.Select(i => i.Source).Distinct().Count()} sources: {string.Join(", ", sources)}");
        TextNormalizer normalizer;
        IReadOnlyDictionary<string, Lexicon> lexicons;
        try
        {
            normalizer = TextNormalizer.Load(Path.Combine(safety, "lexicons", "t2s.txt"));
            lexicons = SafetyRules.LoadLexicons(safety);
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            throw new CliException($"Cannot load the safety folder's normaliser and lexicons: {e.Message} (set --safety-dir).");
        }
        embedder = null;
        if (embeddings)
        {
            embedder = MiniLmEmbedder.Shared(out var error);
            if (embedder is null) console.Out.WriteLine($"Sentence embeddings off: {error}.");
        }
        if (wordClasses is not null) console.Out.WriteLine($"Chinese words are also read by their classes: {wordClasses.Name}.");
        return SafetyTrainer.Prepare(items, normalizer, lexicons, embedder, (done, total) => console.Out.WriteLine($"features {done}/{total}"), wordClasses);
    }

    private static SafetyRules LoadRules(string directory, bool embeddings)
    {
        try
        {
            return SafetyRules.Load(directory, embeddings: embeddings);
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            throw new CliException($"Cannot load the safety rules: {e.Message}");
        }
    }

    private static bool Enabled(PersonaPack pack, string family) => family switch
    {
        SafetyFamilies.Crisis => true,
        SafetyFamilies.Medical => pack.Safety.Rails.Contains(SafetyRails.MedicalEmergency),
        SafetyFamilies.Injection => pack.Safety.Rails.Contains(SafetyRails.Injection),
        SafetyFamilies.Harmful => pack.Safety.Rails.Contains(SafetyRails.Harmful),
        SafetyFamilies.Pii => pack.Safety.RedactPii || pack.Safety.Rails.Contains(SafetyRails.Pii),
        _ => false,
    };

    private static void Print(TextWriter output, IReadOnlyDictionary<string, IReadOnlyDictionary<string, EvalScores>> families)
    {
        output.WriteLine($"{"family",-10} {"lang",-5} {"prec",6} {"recall",6} {"f1",6} {"fpr",6} {"tp",5} {"fp",5} {"fn",5} {"tn",5}");
        foreach (var (family, langs) in families)
            foreach (var (lang, s) in langs)
            {
                var r = s.Exact;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{family,-10} {lang,-5} {r.Precision,6:0.000} {r.Recall,6:0.000} {r.F1,6:0.000} {r.Fpr,6:0.000} {s.Tp,5} {s.Fp,5} {s.Fn,5} {s.Tn,5}"));
            }
    }
}
