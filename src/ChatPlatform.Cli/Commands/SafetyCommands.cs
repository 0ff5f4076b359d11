using System.CommandLine;
using System.Globalization;
using ChatPlatform.Core.Personas;
using ChatPlatform.Safety.Evaluation;
using ChatPlatform.Safety.Rails;

namespace ChatPlatform.Cli.Commands;

internal static class SafetyCommands
{
    public static Command Create(CliConsole console)
    {
        var input = new Option<string>("--input") { Description = "JSON lines {\"text\", \"label\", \"lang\"} to score.", Required = true };
        var persona = new Option<string?>("--persona") { Description = "Score as this persona does: families whose rail the pack does not enable never fire." };
        var json = new Option<string?>("--json") { Description = "Also write the report as JSON to this file." };
        var holdout = new Option<bool>("--holdout") { Description = "Score only the lines of the shared development split that the classifiers were not trained on." };
        var safetyDir = new Option<string?>("--safety-dir") { Description = "The safety folder (default: ChatPlatform:SafetyDirectory, 'safety')." };
        var personasDir = new Option<string?>("--personas-dir") { Description = "The persona packs folder (default: ChatPlatform:PersonasDirectory, 'personas')." };
        var errors = new Option<bool>("--errors") { Description = "Print every misclassified line (FP/FN, family, language, text)." };
        var eval = new Command("eval", "Run the input rails over labelled lines; report precision, recall, F1 and false-positive rate per family and language, and latency.")
        {
            input, persona, json, holdout, errors, safetyDir, personasDir,
        };
        eval.SetAction(parse =>
        {
            var settings = CliSettings.Load();
            var path = parse.GetValue(input)!;
            if (!File.Exists(path)) throw new CliException($"--input: file '{path}' not found.");
            List<EvalItem> items;
            try
            {
                items = SafetyEvaluator.Read(path);
            }
            catch (FormatException e)
            {
                throw new CliException(e.Message);
            }
            if (parse.GetValue(holdout)) items = items.Where(SafetyEvaluator.IsHeldOut).ToList();
            if (items.Count == 0) throw new CliException($"--input: '{path}' has no lines to score.");

            SafetyRules rules;
            try
            {
                rules = SafetyRules.Load(parse.GetValue(safetyDir) ?? settings.SafetyDirectory);
            }
            catch (Exception e) when (e is IOException or FormatException)
            {
                throw new CliException($"Cannot load the safety rules: {e.Message}");
            }

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
                showErrors ? (item, fired) => console.Out.WriteLine($"{(fired ? "FP" : "FN")} {item.Family} {item.Lang} {item.Text.ReplaceLineEndings(" ")}") : null,
                scoredAs);
            Print(console.Out, report);
            if (parse.GetValue(json) is { } outPath)
            {
                File.WriteAllText(outPath, report.ToJson());
                console.Out.WriteLine($"Wrote {outPath}");
            }
            return 0;
        });
        return new Command("safety", "Safety rails.") { eval };
    }

    private static bool Enabled(PersonaPack pack, string family) => family switch
    {
        SafetyFamilies.Crisis => true,
        SafetyFamilies.Medical => pack.Safety.Rails.Contains(SafetyRails.MedicalEmergency),
        SafetyFamilies.Injection => pack.Safety.Rails.Contains(SafetyRails.Injection),
        SafetyFamilies.Pii => pack.Safety.RedactPii || pack.Safety.Rails.Contains(SafetyRails.Pii),
        _ => false,
    };

    private static void Print(TextWriter output, EvalReport report)
    {
        output.WriteLine($"{"family",-10} {"lang",-5} {"prec",6} {"recall",6} {"f1",6} {"fpr",6} {"tp",5} {"fp",5} {"fn",5} {"tn",5}");
        foreach (var (family, langs) in report.Families)
            foreach (var (lang, s) in langs)
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{family,-10} {lang,-5} {s.Precision,6:0.000} {s.Recall,6:0.000} {s.F1,6:0.000} {s.Fpr,6:0.000} {s.Tp,5} {s.Fp,5} {s.Fn,5} {s.Tn,5}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"latency ms per message: p50 {report.LatencyMs.P50:0.000}, p99 {report.LatencyMs.P99:0.000}"));
    }
}
