using System.CommandLine;
using System.Globalization;
using ChatPlatform.Inference.Gguf;

namespace ChatPlatform.Cli.Commands;

/// <summary><c>chatplatform model fixture|inspect</c>.</summary>
internal static class ModelCommands
{
    public static Command Create(CliConsole console) => new("model", "GGUF models: generate fixtures, inspect files.")
    {
        Fixture(console),
        Inspect(console),
    };

    private static Command Fixture(CliConsole console)
    {
        var kind = new Option<string>("--kind") { Description = "tiny | lora | qwen2-0.5b-shape", Required = true };
        kind.AcceptOnlyFromAmong("tiny", "lora", "qwen2-0.5b-shape");
        var seed = new Option<ulong>("--seed") { Description = "Seed; the same seed writes the same bytes.", DefaultValueFactory = _ => 7 };
        var output = new Option<string>("--out") { Description = "File to write.", Required = true };
        var basePath = new Option<string?>("--base") { Description = "Base model GGUF (for --kind lora)." };
        var quant = new Option<string>("--quant") { Description = "f16 | q8_0 (for --kind qwen2-0.5b-shape).", DefaultValueFactory = _ => "q8_0" };
        quant.AcceptOnlyFromAmong("f16", "q8_0", "F16", "Q8_0");

        var command = new Command("fixture", "Write a generated GGUF model: tiny test model, LoRA adapter for a base, or a Qwen2-0.5B-shaped benchmark model.")
        {
            kind, seed, output, basePath, quant,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var path = parse.GetValue(output)!;
            var fixtureKind = parse.GetValue(kind) switch
            {
                "tiny" => FixtureKind.Tiny,
                "lora" => FixtureKind.Lora,
                _ => FixtureKind.Qwen2Shape,
            };
            var baseModel = parse.GetValue(basePath);
            if (fixtureKind == FixtureKind.Lora && baseModel is null)
                throw new CliException("--kind lora needs --base PATH (the model the adapter is for).");
            var quantization = string.Equals(parse.GetValue(quant), "f16", StringComparison.OrdinalIgnoreCase) ? GgmlType.F16 : GgmlType.Q8_0;
            if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } folder) Directory.CreateDirectory(folder);

            var progress = new ProgressBar(console.Error, fixtureKind == FixtureKind.Qwen2Shape);
            try
            {
                FixtureModels.Write(fixtureKind, path, parse.GetValue(seed), baseModel, quantization, progress, cancellationToken);
            }
            catch (GgufFormatException e)
            {
                throw new CliException($"{e.FilePath ?? baseModel}: {e.Message}");
            }
            catch (ArgumentException e)
            {
                throw new CliException(e.Message);
            }
            progress.Done();
            var info = GgufFile.Read(path).Info;
            console.Out.WriteLine($"wrote {path} ({info.Kind}, {info.Architecture}, {FormatCount(info.ParameterCount)} parameters, {info.Quantization}, {FormatBytes(info.FileLength)})");
            return Task.FromResult(0);
        });
        return command;
    }

    private static Command Inspect(CliConsole console)
    {
        var path = new Argument<string>("PATH") { Description = "A GGUF model or adapter file." };
        var command = new Command("inspect", "Print a GGUF file's architecture, size, quantisation, context, vocabulary, chat template and adapter metadata.") { path };
        command.SetAction(parse =>
        {
            var file = parse.GetValue(path)!;
            if (!File.Exists(file)) throw new CliException($"{file}: file not found.");
            GgufModelInfo info;
            try
            {
                info = GgufFile.Read(file).Info;
            }
            catch (GgufFormatException e)
            {
                throw new CliException($"{file}: {e.Message}");
            }
            catch (IOException e)
            {
                throw new CliException($"{file}: cannot be read ({e.Message}).");
            }

            var o = console.Out;
            o.WriteLine($"file:            {Path.GetFullPath(file)}");
            o.WriteLine($"kind:            {info.Kind}");
            o.WriteLine($"name:            {info.Name ?? "-"}");
            o.WriteLine($"architecture:    {info.Architecture ?? "-"}");
            o.WriteLine($"parameters:      {FormatCount(info.ParameterCount)} ({info.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)})");
            o.WriteLine($"quantisation:    {info.Quantization} (tensors: {info.TensorTypeMix})");
            o.WriteLine($"size:            {FormatBytes(info.FileLength)}");
            o.WriteLine($"tensors:         {info.TensorCount}");
            if (!info.IsAdapter)
            {
                o.WriteLine($"context length:  {info.ContextLength?.ToString(CultureInfo.InvariantCulture) ?? "-"}");
                o.WriteLine($"embedding:       {info.EmbeddingLength?.ToString(CultureInfo.InvariantCulture) ?? "-"}");
                o.WriteLine($"blocks:          {info.BlockCount?.ToString(CultureInfo.InvariantCulture) ?? "-"}");
                o.WriteLine($"heads (kv):      {info.HeadCount?.ToString(CultureInfo.InvariantCulture) ?? "-"} ({info.HeadCountKv?.ToString(CultureInfo.InvariantCulture) ?? "-"})");
                o.WriteLine($"vocabulary:      {info.VocabularySize?.ToString(CultureInfo.InvariantCulture) ?? "-"} ({info.TokenizerModel ?? "?"} tokenizer)");
                o.WriteLine($"chat template:   {(info.ChatTemplate is null ? "none" : Summarise(info.ChatTemplate))}");
            }
            if (info.Adapter is { } a)
            {
                o.WriteLine($"adapter type:    {a.Type ?? "-"}");
                o.WriteLine($"lora alpha:      {a.Alpha?.ToString(CultureInfo.InvariantCulture) ?? "-"}");
                o.WriteLine($"lora rank:       {a.Rank?.ToString(CultureInfo.InvariantCulture) ?? "-"}");
                o.WriteLine($"adapted tensors: {a.AdaptedTensorCount}");
            }
            return 0;
        });
        return command;
    }

    private static string Summarise(string template)
    {
        var kind = template.Contains("<|im_start|>", StringComparison.Ordinal) ? "ChatML" : "custom";
        var oneLine = template.ReplaceLineEndings("\\n");
        return $"{kind}, {template.Length} chars: {(oneLine.Length > 100 ? oneLine[..100] + "…" : oneLine)}";
    }

    internal static string FormatCount(long n) => n switch
    {
        >= 1_000_000_000 => (n / 1e9).ToString("0.##", CultureInfo.InvariantCulture) + "B",
        >= 1_000_000 => (n / 1e6).ToString("0.##", CultureInfo.InvariantCulture) + "M",
        >= 1_000 => (n / 1e3).ToString("0.##", CultureInfo.InvariantCulture) + "K",
        _ => n.ToString(CultureInfo.InvariantCulture),
    };

    internal static string FormatBytes(long n) => n switch
    {
        >= 1L << 30 => (n / (double)(1L << 30)).ToString("0.00", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (n / (double)(1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (n / (double)(1L << 10)).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => n.ToString(CultureInfo.InvariantCulture) + " B",
    };
}

/// <summary>A one-line progress bar on the error stream for long writes.</summary>
internal sealed class ProgressBar(TextWriter writer, bool enabled) : IProgress<double>
{
    private int _shown = -1;

    public void Report(double value)
    {
        if (!enabled) return;
        var percent = (int)Math.Clamp(value * 100, 0, 100);
        if (percent == _shown) return;
        _shown = percent;
        var filled = percent / 4;
        writer.Write($"\r[{new string('#', filled)}{new string('.', 25 - filled)}] {percent,3}%");
    }

    public void Done()
    {
        if (enabled && _shown >= 0) writer.WriteLine();
    }
}
