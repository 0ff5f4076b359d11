using System.CommandLine;
using System.Text.Json;
using ChatPlatform.Knowledge.Evaluation;

namespace ChatPlatform.Cli.Commands;

/// <summary><c>chatplatform knowledge bench</c>: import speed and search latency on generated text.</summary>
internal static class KnowledgeBench
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Create(CliConsole console)
    {
        var pages = new Option<int>("--pages") { Description = "Pages of text to import (about 1,800 characters each).", DefaultValueFactory = _ => 1000 };
        var chunks = new Option<int>("--chunks") { Description = "Passages the persona holds when search is timed.", DefaultValueFactory = _ => 10_000 };
        var queries = new Option<int>("--queries") { Description = "Questions to time.", DefaultValueFactory = _ => 200 };
        var json = new Option<string?>("--json") { Description = "Also write the figures as JSON to this file." };
        var command = new Command("bench", "Measure import of N pages and search over M passages in a temporary folder (a benchmark, not a test).")
        {
            pages, chunks, queries, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(pages) is < 1 or > 100_000) throw new CliException("--pages must be between 1 and 100000.");
            if (parse.GetValue(chunks) is < 1 or > 1_000_000) throw new CliException("--chunks must be between 1 and 1000000.");
            if (parse.GetValue(queries) is < 1 or > 100_000) throw new CliException("--queries must be between 1 and 100000.");
            var progress = new Progress<string>(step => console.Error.WriteLine($"… {step}"));
            var result = await KnowledgeBenchmark.RunAsync(parse.GetValue(pages), parse.GetValue(chunks), parse.GetValue(queries), progress, ct);
            await console.Out.WriteLineAsync(KnowledgeBenchmark.ToTable(result));
            if (parse.GetValue(json) is { } path)
            {
                await File.WriteAllTextAsync(path, JsonSerializer.Serialize(result, Indented), ct);
                await console.Out.WriteLineAsync($"wrote {path}");
            }
            return 0;
        });
        return command;
    }
}
