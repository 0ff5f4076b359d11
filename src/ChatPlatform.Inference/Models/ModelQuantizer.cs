using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using ChatPlatform.Inference.Gguf;
using ChatPlatform.Inference.Local;
using LLama.Native;

namespace ChatPlatform.Inference.Models;

/// <summary>A target of <see cref="ModelQuantizer"/>: the name users type and llama.cpp's file type.</summary>
/// <param name="Name">Lower-case name, as llama.cpp's own quantize tool spells it (e.g. <c>q4_k_m</c>).</param>
/// <param name="FileType">llama.cpp's <c>llama_ftype</c>, which the output declares as <c>general.file_type</c>.</param>
/// <param name="Summary">What the type is, for help text.</param>
public sealed record QuantizationType(string Name, LLamaFtype FileType, string Summary);

/// <summary>One step of a quantisation: the input checked and about to be quantised (index 0), or a tensor written.</summary>
/// <param name="TensorIndex">1-based index of the tensor just written, or 0 for the start.</param>
/// <param name="TensorCount">Number of tensors.</param>
/// <param name="Message">What is being quantised (at the start), or the tensor's name, types and sizes as llama.cpp logs them.</param>
public sealed record QuantizationProgress(int TensorIndex, int TensorCount, string Message);

/// <summary>A finished quantisation, checked by reading the output back.</summary>
public sealed record QuantizationResult(string Path, QuantizationType Type, GgufModelInfo Input, GgufModelInfo Output, TimeSpan Elapsed);

/// <summary>A model that cannot be quantised as asked; the message is one line that names the file or the type.</summary>
public sealed class ModelQuantizationException(string message) : Exception(message);

/// <summary>
/// Quantises GGUF models with llama.cpp's own quantiser (the one behind its <c>llama-quantize</c> tool), so the
/// output is exactly what llama.cpp would write: its per-tensor type choices for each mix (e.g. Q6_K for the
/// output and some FFN tensors in Q4_K_M) and its fallbacks for rows that do not fill a k-quant super-block.
/// The output is written under a temporary folder beside the destination, read back and checked, and only
/// then moved into place, so a failed or cancelled run leaves nothing behind.
/// </summary>
public static partial class ModelQuantizer
{
    // llama.cpp's quantiser uses every thread it is given, and a cancelled run goes on until it ends: one at a time.
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);

    /// <summary>The types offered. Types that need an importance matrix (IQ1/IQ2/IQ3, Q2_K_S) are left out.</summary>
    public static IReadOnlyList<QuantizationType> Types { get; } =
    [
        new("q2_k", LLamaFtype.MOSTLY_Q2_K, "2-bit k-quant, about 2.6 bits per weight; large quality loss"),
        new("q3_k_s", LLamaFtype.MOSTLY_Q3_K_S, "3-bit k-quant, small"),
        new("q3_k_m", LLamaFtype.MOSTLY_Q3_K_M, "3-bit k-quant, medium"),
        new("q3_k_l", LLamaFtype.MOSTLY_Q3_K_L, "3-bit k-quant, large"),
        new("q4_0", LLamaFtype.MOSTLY_Q4_0, "4-bit, blocks of 32, one scale"),
        new("q4_1", LLamaFtype.MOSTLY_Q4_1, "4-bit, blocks of 32, scale and minimum"),
        new("q4_k_s", LLamaFtype.MOSTLY_Q4_K_S, "4-bit k-quant, small"),
        new("q4_k_m", LLamaFtype.MOSTLY_Q4_K_M, "4-bit k-quant, medium: the usual choice for published models"),
        new("q5_0", LLamaFtype.MOSTLY_Q5_0, "5-bit, blocks of 32, one scale"),
        new("q5_1", LLamaFtype.MOSTLY_Q5_1, "5-bit, blocks of 32, scale and minimum"),
        new("q5_k_s", LLamaFtype.MOSTLY_Q5_K_S, "5-bit k-quant, small"),
        new("q5_k_m", LLamaFtype.MOSTLY_Q5_K_M, "5-bit k-quant, medium"),
        new("q6_k", LLamaFtype.MOSTLY_Q6_K, "6-bit k-quant"),
        new("q8_0", LLamaFtype.MOSTLY_Q8_0, "8-bit, blocks of 32; nearly lossless"),
        new("iq4_nl", LLamaFtype.MOSTLY_IQ4_NL, "4-bit non-linear, blocks of 32"),
        new("iq4_xs", LLamaFtype.MOSTLY_IQ4_XS, "4-bit non-linear k-quant, 4.25 bits per weight"),
        new("f16", LLamaFtype.MOSTLY_F16, "16-bit floats"),
        new("bf16", LLamaFtype.MOSTLY_BF16, "16-bit bfloat"),
        new("f32", LLamaFtype.ALL_F32, "32-bit floats"),
    ];

    /// <summary>The valid names, comma-separated, for error messages and help.</summary>
    public static string TypeNames => string.Join(", ", Types.Select(t => t.Name));

    /// <summary>Finds a type by name, ignoring case; null when there is none.</summary>
    public static QuantizationType? FindType(string name) =>
        Types.FirstOrDefault(t => string.Equals(t.Name, name.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Quantises <paramref name="inputPath"/> to <paramref name="type"/> and writes <paramref name="outputPath"/>.
    /// </summary>
    /// <param name="threads">Threads for llama.cpp; 0 or less uses every hardware thread.</param>
    /// <param name="allowRequantize">Accept an input that is already quantised (it is dequantised first, which loses quality twice).</param>
    /// <exception cref="ModelQuantizationException">The input is missing, not a GGUF model, already quantised, or llama.cpp refused it.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; nothing is left at <paramref name="outputPath"/>.</exception>
    public static async Task<QuantizationResult> QuantizeAsync(
        string inputPath,
        string outputPath,
        QuantizationType type,
        int threads = 0,
        bool allowRequantize = false,
        IProgress<QuantizationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(inputPath);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        ArgumentNullException.ThrowIfNull(type);
        var input = CheckInput(inputPath, type, allowRequantize);
        var fullOutput = Path.GetFullPath(outputPath);
        if (string.Equals(Path.GetFullPath(inputPath), fullOutput, StringComparison.Ordinal))
            throw new ModelQuantizationException($"{outputPath}: the output must be a different file from the input.");

        progress?.Report(new QuantizationProgress(0, input.TensorCount,
            string.Create(CultureInfo.InvariantCulture, $"{input.Architecture} model, {input.ParameterCount:N0} parameters in {input.TensorCount} tensors, {input.Quantization}, to {type.Name}")));
        using var scratchFolder = ScratchFolder.Create(fullOutput);
        var scratch = scratchFolder.Path;
        var temporary = Path.Combine(scratch, Path.GetFileName(fullOutput));
        var stopwatch = Stopwatch.StartNew();
        var kept = false;
        Task<(uint Code, string? Error, Exception? ProgressFailure)>? native = null;
        try
        {
            await OneAtATime.WaitAsync(cancellationToken);
            native = Task.Factory.StartNew(
                () =>
                {
                    try
                    {
                        return RunNative(inputPath, temporary, type, threads, allowRequantize, progress, cancellationToken);
                    }
                    finally
                    {
                        OneAtATime.Release();
                    }
                },
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            // llama.cpp cannot be interrupted; on cancellation the scratch folder is removed at once (a file it
            // still writes there is unlinked, one it has yet to open cannot be created) and again when it ends.
            var (code, error, progressFailure) = await native.WaitAsync(cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            if (progressFailure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(progressFailure);
            if (code != 0 || !File.Exists(temporary))
            {
                var reason = error ?? $"llama.cpp's quantiser failed (code {code})";
                throw new ModelQuantizationException($"{inputPath}: cannot be quantised to {type.Name}: {reason}.");
            }

            var output = CheckOutput(temporary, type, input);
            File.Move(temporary, fullOutput, overwrite: true);
            kept = true;
            return new QuantizationResult(fullOutput, type, input, output with { FileLength = new FileInfo(fullOutput).Length }, stopwatch.Elapsed);
        }
        finally
        {
            if (!kept && native is { IsCompleted: false })
                _ = native.ContinueWith(_ => ScratchFolder.TryDelete(scratch), TaskScheduler.Default);
        }
    }

    private static GgufModelInfo CheckInput(string path, QuantizationType type, bool allowRequantize)
    {
        if (!File.Exists(path)) throw new ModelQuantizationException($"{path}: file not found.");
        GgufModelInfo info;
        try
        {
            info = GgufFile.Read(path).Info;
        }
        catch (GgufFormatException e)
        {
            throw new ModelQuantizationException($"{path}: {e.Message}");
        }
        catch (IOException e)
        {
            throw new ModelQuantizationException($"{path}: cannot be read ({e.Message}).");
        }

        if (info.IsAdapter)
            throw new ModelQuantizationException($"{path}: is a LoRA adapter, not a model; quantise the base model and keep the adapter as it is.");
        if (info.Architecture is null)
            throw new ModelQuantizationException($"{path}: has no general.architecture, so llama.cpp cannot load it to quantise it.");

        var quantised = info.QuantizedTypes;
        if (quantised.Count > 0 && !allowRequantize)
        {
            throw new ModelQuantizationException(
                $"{path}: is already quantised ({info.Quantization}, tensors {string.Join("+", quantised)}); quantise from the F16 or F32 original, " +
                $"or pass --allow-requantize to requantise it to {type.Name} (quality is lost twice).");
        }

        return info;
    }

    private static GgufModelInfo CheckOutput(string path, QuantizationType type, GgufModelInfo input)
    {
        GgufModelInfo output;
        try
        {
            output = GgufFile.Read(path).Info;
        }
        catch (GgufFormatException e)
        {
            throw new ModelQuantizationException($"llama.cpp wrote an unreadable file for {type.Name} ({e.Message}); nothing was kept.");
        }

        string? problem = null;
        if (output.FileType != (long)type.FileType)
            problem = $"it declares file type {output.Quantization}, not {type.Name}";
        else if (output.TensorCount != input.TensorCount || output.ParameterCount != input.ParameterCount)
            problem = $"it has {output.TensorCount} tensors and {output.ParameterCount} parameters where the input has {input.TensorCount} and {input.ParameterCount}";
        else if (output.Architecture != input.Architecture || output.VocabularySize != input.VocabularySize)
            problem = $"its architecture or vocabulary differs from the input's";
        if (problem is not null)
            throw new ModelQuantizationException($"llama.cpp's {type.Name} output does not check out: {problem}; nothing was kept.");
        return output;
    }

    private static (uint Code, string? Error, Exception? ProgressFailure) RunNative(
        string input, string output, QuantizationType type, int threads, bool allowRequantize,
        IProgress<QuantizationProgress>? progress, CancellationToken cancellationToken)
    {
        string? error = null;
        Exception? progressFailure = null;
        // Runs inside llama.cpp's log callback, where an exception would end the process: the first one is kept
        // for the caller and reporting stops, as it does once the caller has given up.
        void Report(int index, int count, string message)
        {
            if (progress is null || progressFailure is not null || cancellationToken.IsCancellationRequested) return;
            try
            {
                progress.Report(new QuantizationProgress(index, count, message));
            }
            catch (Exception e)
            {
                progressFailure = e;
            }
        }

        var index = 0;
        var count = 0;
        using var listening = LlamaNative.ListenToLines((level, line) =>
        {
            if (line.Length == 0) return;
            if (level is LLamaLogLevel.Error)
            {
                error ??= Describe(line);
                return;
            }

            if (TensorLine().Match(line) is { Success: true } m)
            {
                index = int.Parse(m.Groups["index"].Value, CultureInfo.InvariantCulture);
                count = int.Parse(m.Groups["count"].Value, CultureInfo.InvariantCulture);
                Report(index, count, Squeeze(m.Groups["rest"].Value));
            }
            else if (level is LLamaLogLevel.Info or LLamaLogLevel.Warning && line.Contains("size =", StringComparison.Ordinal) && index == count && count > 0)
            {
                Report(index, count, Squeeze(line));
            }
        });

        NativeApi.llama_empty_call(); // loads the native library through LLamaSharp's resolver before the first direct call
        var parameters = LLamaModelQuantizeParams.Default();
        parameters.nthread = threads;
        parameters.ftype = type.FileType;
        parameters.allow_requantize = allowRequantize;
        var code = NativeApi.llama_model_quantize(input, output, ref parameters);
        return (code, error, progressFailure);
    }

    /// <summary>Keeps the reason of a llama.cpp error line, dropping the function-name prefixes.</summary>
    private static string Describe(string line)
    {
        var text = line.Trim();
        foreach (var prefix in new[] { "llama_model_quantize: failed to quantize: ", "llama_model_quantize: " })
        {
            if (text.StartsWith(prefix, StringComparison.Ordinal)) text = text[prefix.Length..];
        }

        return text.TrimEnd('.', ' ');
    }

    private static string Squeeze(string text) => Spaces().Replace(text.Trim(), " ");

    [GeneratedRegex(@"^\[\s*(?<index>\d+)/\s*(?<count>\d+)\]\s+(?<rest>.*)$", RegexOptions.CultureInvariant)]
    private static partial Regex TensorLine();

    [GeneratedRegex(@"\s+", RegexOptions.CultureInvariant)]
    private static partial Regex Spaces();
}
