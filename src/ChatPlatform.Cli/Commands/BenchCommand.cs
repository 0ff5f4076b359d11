using System.CommandLine;
using System.Text.Json;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Inference.Benchmarks;
using ChatPlatform.Inference.Gguf;

namespace ChatPlatform.Cli.Commands;

/// <summary><c>chatplatform bench</c>: throughput, latency and memory of the shared inference core.</summary>
internal static class BenchCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Create(CliConsole console)
    {
        var model = new Option<string?>("--model") { Description = "GGUF model. Default: a generated Qwen2-0.5B-shaped Q8_0 model under the data folder." };
        var json = new Option<string?>("--json") { Description = "Also write the figures as JSON to this file." };
        var tokens = new Option<int>("--tokens") { Description = "Output tokens per reply.", DefaultValueFactory = _ => 64 };
        var threads = new Option<int?>("--threads") { Description = "CPU threads. Default: one per core." };
        var profile = new Option<bool>("--profile") { Description = "Also show where the core's decode loop spends each step (decode, sampling, text, the rest)." };

        var command = new Command("bench", "Measure the inference core against a plain decode loop (a benchmark, not a test).") { model, json, tokens, threads, profile };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = CliSettings.Load();
            var folder = Path.Combine(Path.GetFullPath(options.DataDirectory), "models");
            var modelPath = parse.GetValue(model) ?? Path.Combine(folder, "bench-qwen2-0.5b-q8_0.gguf");
            if (!File.Exists(modelPath))
            {
                if (parse.GetValue(model) is not null) throw new CliException($"{modelPath}: file not found.");
                Directory.CreateDirectory(folder);
                await console.Error.WriteLineAsync($"Generating the benchmark model {modelPath} (random weights, Qwen2-0.5B shapes)…");
                var bar = new ProgressBar(console.Error, enabled: true);
                FixtureModels.WriteQwen2Shape(modelPath, 7, GgmlType.Q8_0, bar, cancellationToken);
                bar.Done();
            }

            var adapters = new List<string>();
            var stem = Path.GetFileNameWithoutExtension(modelPath);
            for (var i = 1; i <= 3; i++)
            {
                var adapter = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, $"{stem}-lora-{i}.gguf");
                if (!File.Exists(adapter)) FixtureModels.WriteLora(modelPath, adapter, (ulong)i, cancellationToken: cancellationToken);
                adapters.Add(adapter);
            }

            var settings = new BenchmarkSettings(modelPath, adapters, parse.GetValue(threads) ?? new ModelOptions().EffectiveThreads, parse.GetValue(tokens),
                Profile: parse.GetValue(profile));
            var progress = new Progress<string>(step => console.Error.WriteLine($"… {step}"));
            var result = await InferenceBenchmark.RunAsync(settings, progress, cancellationToken);
            await console.Out.WriteLineAsync(result.ToTable());
            if (parse.GetValue(json) is { } jsonPath)
            {
                await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(result, Indented), cancellationToken);
                await console.Out.WriteLineAsync($"wrote {jsonPath}");
            }
            return 0;
        });
        return command;
    }
}
