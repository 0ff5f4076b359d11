using System.CommandLine;
using System.Globalization;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Inference.Gguf;
using ChatPlatform.Inference.Models;

namespace ChatPlatform.Cli.Commands;

/// <summary><c>chatplatform model fixture|inspect|pull|quantize</c>.</summary>
internal static class ModelCommands
{
    public static Command Create(CliConsole console) => new("model", "GGUF models: generate fixtures, inspect files, pull from a model hub, quantise.")
    {
        Fixture(console),
        Inspect(console),
        Pull(console),
        Quantize(console),
    };

    private static Command Quantize(CliConsole console)
    {
        var input = new Argument<string>("IN") { Description = "GGUF model to quantise (F32, F16 or BF16 weights)." };
        var output = new Argument<string>("OUT") { Description = "File to write; replaced only once the new file has been checked." };
        var type = new Option<string>("--type") { Description = $"Target type: {ModelQuantizer.TypeNames}.", Required = true };
        var threads = new Option<int>("--threads") { Description = "Threads for the quantiser. Default: all.", DefaultValueFactory = _ => 0 };
        var requantize = new Option<bool>("--allow-requantize") { Description = "Accept an already quantised input (it is dequantised first; quality is lost twice)." };

        var command = new Command("quantize", "Quantise a GGUF model with llama.cpp's own quantiser, check the result as `model inspect` reads it, then keep it.")
        {
            input, output, type, threads, requantize,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var source = parse.GetValue(input)!;
            var target = parse.GetValue(output)!;
            var typeName = parse.GetValue(type)!;
            var quantizationType = ModelQuantizer.FindType(typeName)
                ?? throw new CliException($"--type {typeName}: unknown quantisation type; valid types: {ModelQuantizer.TypeNames}.");

            var bar = new ProgressBar(console.Error, enabled: true);
            var progress = new QuantizationProgressBar(console.Error, source, bar);
            var result = await ProgressBar.RunAsync<QuantizationResult, ModelQuantizationException>(bar,
                () => ModelQuantizer.QuantizeAsync(source, target, quantizationType, parse.GetValue(threads), parse.GetValue(requantize), progress, cancellationToken),
                target, "the output");
            var (before, after) = (result.Input, result.Output);
            var ratio = after.FileLength > 0 ? (before.FileLength / (double)after.FileLength).ToString("0.0", CultureInfo.InvariantCulture) : "?";
            await console.Out.WriteLineAsync(
                $"wrote {result.Path} ({after.Quantization}, tensors {after.TensorTypeMix}, {FormatBytes(after.FileLength)}; " +
                $"input {before.Quantization}, {FormatBytes(before.FileLength)}, {ratio}x smaller; {result.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s)");
            await console.Out.WriteLineAsync(
                $"checked: {after.Architecture}, {FormatCount(after.ParameterCount)} parameters in {after.TensorCount} tensors, vocabulary {after.VocabularySize?.ToString(CultureInfo.InvariantCulture) ?? "-"}, file type {after.Quantization}");
            return 0;
        });
        return command;
    }

    private static Command Pull(CliConsole console)
    {
        var repo = new Argument<string>("REPO") { Description = "Repository on the hub, e.g. Qwen/Qwen2.5-1.5B-Instruct-GGUF." };
        var file = new Argument<string>("FILE") { Description = "GGUF file in the repository, e.g. qwen2.5-1.5b-instruct-q4_k_m.gguf." };
        var revision = new Option<string>("--revision") { Description = "Branch, tag or commit.", DefaultValueFactory = _ => "main" };
        var output = new Option<string?>("--out") { Description = "Folder to put the file in. Default: <DataDirectory>/models." };
        var sha256 = new Option<string?>("--sha256") { Description = "Expected SHA-256 (hex). Default: the one the hub publishes for the file, when it does." };
        var hub = new Option<string?>("--hub-url") { Description = $"Model hub base URL. Default: ChatPlatform:Models:HubUrl ({ModelsOptions.DefaultHubUrl})." };

        var command = new Command("pull", "Download a GGUF model from a Hugging Face-style hub; an interrupted download resumes when run again.")
        {
            repo, file, revision, output, sha256, hub,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = CliSettings.Load();
            if (parse.GetValue(hub) is { } hubUrl) options.Models.HubUrl = hubUrl;
            CliSettings.ThrowIfInvalid(options);
            var folder = parse.GetValue(output) ?? Path.Combine(options.DataDirectory, "models");
            var token = string.IsNullOrWhiteSpace(options.Models.HubToken) ? Environment.GetEnvironmentVariable("HF_TOKEN") : options.Models.HubToken;
            var request = new ModelPullRequest(parse.GetValue(repo)!, parse.GetValue(file)!, folder, parse.GetValue(revision)!, parse.GetValue(sha256));

            using var http = ModelDownloader.CreateHttpClient();
            var downloader = new ModelDownloader(http, new Uri(options.Models.HubUrl), token);
            var bar = new ProgressBar(console.Error, enabled: true);
            var progress = new DownloadProgressBar(bar);
            var result = await ProgressBar.RunAsync<ModelPullResult, ModelPullException>(bar,
                () => downloader.PullAsync(request, progress, cancellationToken), folder, "the download");

            var info = result.Info;
            var how = result.AlreadyPresent ? "already present"
                : result.ResumedFrom > 0 ? $"resumed at {FormatBytes(result.ResumedFrom)}"
                : "downloaded";
            var check = result.Verified ? "verified" : "not verified: the hub sent no SHA-256 and --sha256 was not given";
            await console.Out.WriteLineAsync($"{result.Path} ({how}, {FormatBytes(result.Length)})");
            await console.Out.WriteLineAsync($"sha256 {result.Sha256} ({check})");
            await console.Out.WriteLineAsync($"{info.Kind}, {info.Architecture ?? "?"}, {FormatCount(info.ParameterCount)} parameters, {info.Quantization}");
            if (!info.IsAdapter)
                await console.Out.WriteLineAsync($"Use it: ChatPlatform__Model__Path={result.Path}");
            return 0;
        });
        return command;
    }

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
            catch (OperationCanceledException)
            {
                progress.Done();
                throw;
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
        var basePath = new Option<string?>("--base") { Description = "For an adapter: the base model to check it against (architecture, and every adapted tensor's name and shape)." };
        var command = new Command("inspect", "Print a GGUF file's architecture, size, quantisation, context, vocabulary, chat template and adapter metadata.") { path, basePath };
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
            if (parse.GetValue(basePath) is { } baseFile)
            {
                if (!info.IsAdapter) throw new CliException($"--base: {file} is not an adapter.");
                o.WriteLine($"fits base:       {CheckFits(file, baseFile)}");
            }
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Checks an adapter against a base model as llama.cpp will when loading it: same architecture, and for every
    /// <c>NAME.lora_a</c> [in, r] / <c>NAME.lora_b</c> [r, out] pair a base tensor <c>NAME</c> of [in, out].
    /// </summary>
    private static string CheckFits(string adapterPath, string basePath)
    {
        if (!File.Exists(basePath)) throw new CliException($"--base {basePath}: file not found.");
        GgufFile adapter, model;
        try
        {
            adapter = GgufFile.Read(adapterPath);
            model = GgufFile.Read(basePath);
        }
        catch (GgufFormatException e)
        {
            throw new CliException($"--base {basePath}: {e.Message}");
        }

        if (model.Info.IsAdapter) throw new CliException($"--base {basePath}: is an adapter, not a model.");
        if (model.Info.Architecture != adapter.Info.Architecture)
            throw new CliException($"does not fit {basePath}: the adapter is for {adapter.Info.Architecture ?? "no architecture"}, the model is {model.Info.Architecture ?? "none"}.");
        var pairs = 0;
        foreach (var a in adapter.Tensors.Where(t => t.Name.EndsWith(".lora_a", StringComparison.Ordinal)))
        {
            var name = a.Name[..^".lora_a".Length];
            var b = adapter.FindTensor(name + ".lora_b") ?? throw new CliException($"does not fit {basePath}: {name}.lora_a has no lora_b.");
            var target = model.FindTensor(name) ?? throw new CliException($"does not fit {basePath}: it has no tensor {name}.");
            if (target.Dimensions.Count != 2 || a.Dimensions.Count != 2 || b.Dimensions.Count != 2
                || a.Dimensions[0] != target.Dimensions[0] || b.Dimensions[1] != target.Dimensions[1] || a.Dimensions[1] != b.Dimensions[0])
                throw new CliException($"does not fit {basePath}: {name} is [{string.Join(", ", target.Dimensions)}] but the adapter's pair is [{string.Join(", ", a.Dimensions)}] x [{string.Join(", ", b.Dimensions)}].");
            pairs++;
        }

        return $"yes, {Path.GetFullPath(basePath)} ({model.Info.Architecture}; all {pairs} adapted tensors match)";
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
    private string _detail = "";

    public void Report(double value) => Report(value, "");

    /// <summary>Shows the bar with text after the percentage (sizes, speed).</summary>
    public void Report(double value, string detail)
    {
        if (!enabled) return;
        var percent = (int)Math.Clamp(value * 100, 0, 100);
        if (percent == _shown && detail == _detail) return;
        var padding = Math.Max(0, _detail.Length - detail.Length);
        _shown = percent;
        _detail = detail;
        var filled = percent / 4;
        writer.Write($"\r[{new string('#', filled)}{new string('.', 25 - filled)}] {percent,3}%{detail}{new string(' ', padding)}");
    }

    /// <summary>Ends the bar's line, once: a later bar starts on a line of its own.</summary>
    public void Done()
    {
        if (enabled && _shown >= 0) writer.WriteLine();
        (_shown, _detail) = (-1, "");
    }

    /// <summary>
    /// Runs a long job behind <paramref name="bar"/>, which is closed however the job ends. The job's own failure
    /// (<typeparamref name="TFailure"/>, whose message is written for the user) and a file that cannot be written
    /// become one-line errors naming <paramref name="target"/>; cancellation goes through as it is.
    /// </summary>
    public static async Task<T> RunAsync<T, TFailure>(ProgressBar bar, Func<Task<T>> job, string target, string what)
        where TFailure : Exception
    {
        try
        {
            return await job();
        }
        catch (TFailure e)
        {
            throw new CliException(e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"{target}: cannot write {what} ({e.Message}).");
        }
        finally
        {
            bar.Done();
        }
    }
}

/// <summary>Quantisation progress as a bar with the tensor being written, e.g. <c>[###......]  12%  [ 35/291] blk.2.attn_q.weight …</c>.</summary>
internal sealed class QuantizationProgressBar(TextWriter writer, string source, ProgressBar bar) : IProgress<QuantizationProgress>
{
    private const int DetailWidth = 90;

    // Reported synchronously: the start once the input has been checked, then each tensor on llama.cpp's thread.
    public void Report(QuantizationProgress value)
    {
        if (value.TensorIndex == 0)
        {
            writer.WriteLine($"quantising {source} with llama.cpp: {value.Message}");
            return;
        }

        var detail = $"  [{value.TensorIndex}/{value.TensorCount}] {value.Message}";
        bar.Report(value.TensorIndex / (double)value.TensorCount, detail.Length > DetailWidth ? detail[..(DetailWidth - 1)] + "…" : detail);
    }
}

/// <summary>Download progress as a bar with size, percentage and speed, e.g. <c>[#####....]  42%  12.3 MiB / 29.1 MiB  5.2 MiB/s</c>.</summary>
internal sealed class DownloadProgressBar(ProgressBar bar) : IProgress<DownloadProgress>
{
    // Reported synchronously on the downloading thread, so the line is complete before any message that follows.
    public void Report(DownloadProgress value)
    {
        var size = value.Total is { } total ? $"{ModelCommands.FormatBytes(value.Received)} / {ModelCommands.FormatBytes(total)}" : ModelCommands.FormatBytes(value.Received);
        var fraction = value.Total is > 0 ? value.Received / (double)value.Total.Value : 0;
        bar.Report(fraction, $"  {size}  {ModelCommands.FormatBytes((long)value.BytesPerSecond)}/s");
    }

    public void Done() => bar.Done();
}
