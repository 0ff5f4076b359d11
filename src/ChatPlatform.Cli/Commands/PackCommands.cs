using System.CommandLine;
using System.Text.Json;
using ChatPlatform.Core.Personas;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Cli.Commands;

internal static class PackCommands
{
    public static Command Create(CliConsole console)
    {
        var directory = new Argument<string>("DIR") { Description = "Folder holding persona packs (one subfolder each).", DefaultValueFactory = _ => "personas" };
        var validate = new Command("validate", "Check every pack in DIR; list the valid ones, print each problem as path:line: message.") { directory };
        validate.SetAction(parse =>
        {
            var dir = parse.GetValue(directory)!;
            var result = PackLoader.LoadAll(dir);
            foreach (var pack in result.Packs.OrderBy(p => p.Id, StringComparer.Ordinal))
                console.Out.WriteLine($"ok  {pack.Id}  {pack.Name} {pack.Version}  ({string.Join(", ", pack.Locales)})");
            foreach (var problem in result.Problems)
                console.Error.WriteLine(problem.ToString());
            if (result.Problems.Count > 0)
            {
                console.Error.WriteLine($"{result.Problems.Count} problem(s) found.");
                return 1;
            }
            console.Out.WriteLine($"{result.Packs.Count} pack(s) valid.");
            return 0;
        });
        return new Command("packs", "Persona packs.") { validate, EvalCommand(console) };
    }

    private static Command EvalCommand(CliConsole console)
    {
        var persona = new Argument<string>("PERSONA") { Description = "Persona id, e.g. gradchat." };
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON to this file." };
        var model = new Option<string?>("--model") { Description = "GGUF model file. Default: ChatPlatform:Model:Path, else the generated demo model." };
        var personas = new Option<string?>("--personas") { Description = "Persona packs folder. Default: ChatPlatform:PersonasDirectory or ./personas." };
        var dataDir = new Option<string?>("--data-dir") { Description = "Data folder whose store holds the persona versions activated in the console. Default: ChatPlatform:DataDirectory." };
        var safetyDir = new Option<string?>("--safety-dir") { Description = "The safety folder. Default: ChatPlatform:SafetyDirectory or ./safety." };
        var threads = new Option<int?>("--threads") { Description = "CPU threads. Default: one per core." };
        var eval = new Command("eval", "Run a persona's evals (evals/*.jsonl) through the rails and the model; exit 1 when any fails.")
        {
            persona, json, model, personas, dataDir, safetyDir, threads,
        };
        eval.SetAction(async (parse, cancellationToken) =>
        {
            var options = CliSettings.Load();
            if (parse.GetValue(model) is { } modelPath) options.Model.Path = modelPath;
            if (parse.GetValue(personas) is { } dir) options.PersonasDirectory = dir;
            if (parse.GetValue(dataDir) is { } data) options.DataDirectory = data;
            if (parse.GetValue(threads) is { } t) options.Model.Threads = t;
            if (parse.GetValue(safetyDir) is { } safetyPath) options.SafetyDirectory = safetyPath;
            options.Model.MaxConcurrentConversations = 1;
            CliSettings.ThrowIfInvalid(options);
            var outPath = parse.GetValue(json) is { } j ? CliException.OutputFile(j, "--json") : null;

            // The version the platform serves: the one activated in the console, else the packs folder's.
            var catalog = await CliPipeline.LoadCatalogAsync(options, console, cancellationToken);
            var id = parse.GetValue(persona)!;
            var pack = CliPipeline.FindPack(catalog, id, options);
            if (pack.Evals.Count == 0)
                throw new CliException($"Persona '{id}' has no evals: add conversations to {PackLoader.EvalsFolderName}/*.jsonl in its pack ({pack.Directory}).");

            using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
            using var pipeline = CliPipeline.Create(options, catalog, options.Model.IsRemote && parse.GetValue(model) is null, loggers);
            var probe = new PersonaProbe(pipeline.Pipeline);
            var outcomes = await probe.RunEvalsAsync(pack, outcome => console.Out.WriteLine(
                outcome.Passed ? $"pass  {outcome.Id} ({outcome.Locale})" : $"FAIL  {outcome.Id} ({outcome.Locale}): {outcome.Reason}"), cancellationToken);

            var failed = outcomes.Count(o => !o.Passed);
            console.Out.WriteLine($"{pack.Id} {pack.Version}: {outcomes.Count - failed} of {outcomes.Count} eval(s) passed, {failed} failed.");
            if (outPath is not null)
            {
                await File.WriteAllTextAsync(outPath, JsonSerializer.Serialize(Report(pack, outcomes), s_json), cancellationToken);
                console.Out.WriteLine($"Wrote {outPath}");
            }
            return failed == 0 ? 0 : 1;
        });
        return eval;
    }

    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The results as <c>--json</c> writes them; each case names the file and line it came from.</summary>
    private static object Report(PersonaPack pack, IReadOnlyList<EvalOutcome> outcomes) => new
    {
        persona = pack.Id,
        packVersion = pack.Version,
        total = outcomes.Count,
        passed = outcomes.Count(o => o.Passed),
        failed = outcomes.Count(o => !o.Passed),
        cases = pack.Evals.Zip(outcomes, (eval, outcome) => new
        {
            id = outcome.Id,
            locale = outcome.Locale,
            passed = outcome.Passed,
            reason = outcome.Reason,
            rails = outcome.Rails,
            reply = outcome.Reply,
            file = Path.GetRelativePath(pack.Directory, eval.File).Replace('\\', '/'),
            line = eval.Line,
        }),
    };
}
