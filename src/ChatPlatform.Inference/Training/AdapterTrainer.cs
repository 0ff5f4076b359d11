using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using ChatPlatform.Inference.Gguf;
using ChatPlatform.Inference.Local;
using ChatPlatform.Inference.Models;
using LLama;
using LLama.Common;
using LLama.Native;

namespace ChatPlatform.Inference.Training;

/// <summary>What to train: the base model, the conversations, the adapter's shape and the optimiser's settings.</summary>
public sealed record AdapterTrainingOptions
{
    public required string BasePath { get; init; }
    public required string DataPath { get; init; }
    public required string OutputPath { get; init; }

    /// <summary>The persona's system prompt: replaces any system message in the data. Null keeps the data's own.</summary>
    public string? SystemPrompt { get; init; }

    /// <summary>Recorded in the adapter's metadata.</summary>
    public string? PersonaId { get; init; }

    public int Rank { get; init; } = 8;

    /// <summary>LoRA alpha written to the adapter (llama.cpp scales by alpha / rank); null means alpha = rank.</summary>
    public float? Alpha { get; init; }

    public int Epochs { get; init; } = 3;
    public float LearningRate { get; init; } = 1e-4f;
    public int Threads { get; init; }
    public int Seed { get; init; } = 1;

    /// <summary>
    /// Tokens per optimiser step. Each step sees one slice of a conversation; slices without a reply token are
    /// evaluated (their keys and values feed later slices) but change nothing.
    /// </summary>
    public int StepTokens { get; init; } = 16;

    /// <summary>The longest conversation accepted, in tokens.</summary>
    public int MaxTokens { get; init; } = 4096;

    /// <summary>Which weights of the last block are trained (and adapted): names as in <c>blk.N.NAME.weight</c>.</summary>
    public IReadOnlyList<string> Targets { get; init; } = TrainableTargets;

    /// <summary>
    /// The weights llama.cpp's training can reach in the build LLamaSharp 0.30.0 ships: those of the last block that
    /// do not feed a key or value. Its graph writes keys and values into the KV cache with an in-place op that ggml's
    /// backward pass refuses (it aborts the process), so every weight upstream of any layer's keys or values (all
    /// earlier blocks, and the last block's norm, <c>attn_k</c> and <c>attn_v</c>) cannot be trained.
    /// </summary>
    public static IReadOnlyList<string> TrainableTargets { get; } = ["attn_q", "attn_output", "ffn_gate", "ffn_up", "ffn_down"];
}

/// <summary>A step of a training run, for progress output.</summary>
/// <param name="Stage">"prepare", "train", "extract" or "write".</param>
/// <param name="Epoch">1-based epoch while training, else 0.</param>
/// <param name="Done">Items done in this stage (conversations in an epoch, tensors while extracting).</param>
/// <param name="Total">Items in this stage.</param>
/// <param name="Message">What is going on, one line.</param>
/// <param name="Finished">Set once, when an epoch ends.</param>
public sealed record AdapterTrainingProgress(string Stage, int Epoch, int Epochs, int Done, int Total, string Message, AdapterEpoch? Finished = null);

/// <summary>One epoch's figures.</summary>
/// <param name="Epoch">0 for the measurement before training, then 1-based.</param>
/// <param name="ReplyLoss">Mean cross-entropy over the reply tokens alone, measured with the weights as they are at the end of the epoch (a forward pass over every conversation).</param>
/// <param name="ReplyAccuracy">Share of reply tokens that are the model's top choice, from the same pass.</param>
/// <param name="StepLoss">Mean cross-entropy of the optimiser steps that held reply tokens, as llama.cpp reported them during the epoch (these slices include some prompt positions).</param>
public sealed record AdapterEpoch(int Epoch, double ReplyLoss, double ReplyAccuracy, double StepLoss, TimeSpan Elapsed);

/// <summary>A finished run: the adapter written and checked.</summary>
public sealed record AdapterTrainingResult(
    string Path,
    GgufModelInfo Base,
    IReadOnlyList<AdapterEpoch> Epochs,
    int Conversations,
    int ReplyTokens,
    int WindowTokens,
    int AdaptedTensors,
    long TrainedParameters,
    int Rank,
    double Retained,
    bool ConvertedToF32,
    TimeSpan Elapsed);

/// <summary>
/// Trains a LoRA adapter with llama.cpp's own training (<c>llama_opt_init</c> / <c>llama_opt_epoch</c>, ggml-opt's
/// AdamW behind them). That training updates model tensors (F32 ones only, chosen by a parameter filter); it has no
/// LoRA tensors of its own. So the chosen weights of an F32 copy of the base are trained in memory, and the adapter
/// is extracted from the difference: a truncated SVD of rank r per tensor, written with the project's GGUF writer.
/// In the llama.cpp build LLamaSharp 0.30.0 ships, only the last block's <c>attn_q</c>, <c>attn_output</c> and
/// MLP weights can be trained (see <see cref="AdapterTrainingOptions.TrainableTargets"/>).
/// <para>
/// The loss covers the assistant replies (up to and including the end-of-turn token). <c>llama_opt_epoch</c> gives
/// every position a label, so each conversation is cut into slices of <see cref="AdapterTrainingOptions.StepTokens"/>
/// tokens, one optimiser step per slice, and a slice whose labels hold no reply token gets a step that changes
/// nothing (a learning rate of 1e-30 and moment decay of 1 - 2^-24; ggml-opt refuses a rate of 0). Its forward pass
/// still runs, so later slices attend to it. A slice that holds the start of a reply also holds up to
/// <c>StepTokens - 1</c> prompt positions; those are trained too. The loss reported per epoch is measured exactly
/// on the reply tokens, by a forward pass over every conversation after the epoch.
/// </para>
/// The output is written under a scratch folder beside it, read back, loaded by llama.cpp on the base, and only
/// then moved into place: a failed or cancelled run leaves nothing behind.
/// </summary>
public static partial class AdapterTrainer
{
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);

    /// <summary>Architectures whose training graph has been checked here.</summary>
    public static IReadOnlyList<string> Architectures { get; } = ["llama", "qwen2"];

    /// <summary>Whether a model of <paramref name="architecture"/> can be trained here.</summary>
    public static bool Trains(string? architecture) => architecture is not null && Architectures.Contains(architecture);

    /// <exception cref="AdapterTrainingException">The base or the data cannot be used, or the run failed; one line.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; nothing is left at the output path.</exception>
    public static async Task<AdapterTrainingResult> TrainAsync(
        AdapterTrainingOptions options,
        IProgress<AdapterTrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        var baseFile = CheckBase(options);
        var conversations = TrainingData.Read(options.DataPath);

        var fullOutput = Path.GetFullPath(options.OutputPath);
        using var scratchFolder = ScratchFolder.Create(fullOutput);
        var scratch = scratchFolder.Path;
        var stopwatch = Stopwatch.StartNew();
        // One run at a time: each holds an F32 copy of its base in memory and keeps the threads it is given busy.
        await OneAtATime.WaitAsync(cancellationToken);
        try
        {
            var trainingBase = options.BasePath;
            var converted = baseFile.Tensors.Any(t => t.Type != GgmlType.F32);
            if (converted)
            {
                progress?.Report(new AdapterTrainingProgress("prepare", 0, options.Epochs, 0, 1, $"making an F32 copy of the base ({baseFile.Info.Quantization}) to train"));
                trainingBase = Path.Combine(scratch, "base-f32.gguf");
                try
                {
                    await ModelQuantizer.QuantizeAsync(options.BasePath, trainingBase, ModelQuantizer.FindType("f32")!, options.Threads, cancellationToken: cancellationToken);
                }
                catch (ModelQuantizationException e)
                {
                    throw new AdapterTrainingException($"{options.BasePath}: cannot make the F32 copy to train ({e.Message}).");
                }
            }

            var temporary = Path.Combine(scratch, Path.GetFileName(fullOutput));
            var run = await Task.Factory.StartNew(
                () => Run(options, baseFile, trainingBase, conversations, temporary, progress, cancellationToken),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            cancellationToken.ThrowIfCancellationRequested();
            File.Move(temporary, fullOutput, overwrite: true);
            return run with { Path = fullOutput, ConvertedToF32 = converted, Elapsed = stopwatch.Elapsed };
        }
        finally
        {
            OneAtATime.Release();
        }
    }

    private static void Validate(AdapterTrainingOptions options)
    {
        if (options.Rank < 1) throw new AdapterTrainingException($"--rank {options.Rank}: must be at least 1.");
        if (options.Alpha is <= 0 or float.NaN) throw new AdapterTrainingException($"--alpha {options.Alpha}: must be above 0.");
        if (options.Epochs < 1) throw new AdapterTrainingException($"--epochs {options.Epochs}: must be at least 1.");
        if (!(options.LearningRate > 0 && options.LearningRate < 1)) throw new AdapterTrainingException($"--lr {options.LearningRate}: must be above 0 and below 1.");
        if (options.StepTokens is < 1 or > 4096) throw new AdapterTrainingException($"step tokens {options.StepTokens}: must be 1 to 4096.");
        if (options.Targets.Count == 0) throw new AdapterTrainingException("no weights chosen to train.");
        if (options.Targets.FirstOrDefault(t => !AdapterTrainingOptions.TrainableTargets.Contains(t)) is { } untrainable)
            throw new AdapterTrainingException(
                $"{untrainable}: cannot be trained with llama.cpp's training in this build (its gradient passes the KV-cache write); trainable: {string.Join(", ", AdapterTrainingOptions.TrainableTargets)}.");
        if (string.Equals(Path.GetFullPath(options.BasePath), Path.GetFullPath(options.OutputPath), StringComparison.Ordinal))
            throw new AdapterTrainingException($"{options.OutputPath}: the adapter must not overwrite the base model.");
    }

    /// <summary>Reads the base's header and refuses what cannot be trained, with the reason on one line.</summary>
    private static GgufFile CheckBase(AdapterTrainingOptions options)
    {
        var path = options.BasePath;
        if (!File.Exists(path)) throw new AdapterTrainingException($"{path}: file not found.");
        GgufFile file;
        try
        {
            file = GgufFile.Read(path);
        }
        catch (GgufFormatException e)
        {
            throw new AdapterTrainingException($"{path}: {e.Message}");
        }
        catch (IOException e)
        {
            throw new AdapterTrainingException($"{path}: cannot be read ({e.Message}).");
        }

        var info = file.Info;
        if (info.IsAdapter) throw new AdapterTrainingException($"{path}: is a LoRA adapter, not a base model.");
        if (!Trains(info.Architecture))
            throw new AdapterTrainingException(
                $"{path}: architecture '{info.Architecture ?? "none"}' cannot be trained here (supported: {string.Join(", ", Architectures)}).");
        var quantised = info.QuantizedTypes;
        if (quantised.Count > 0)
            throw new AdapterTrainingException(
                $"{path}: is quantised ({info.Quantization}, tensors {string.Join("+", quantised)}); llama.cpp trains F32 weights only: train on the F16 or F32 original (the adapter then works on quantised copies too).");
        var last = LastBlock(file);
        var targets = file.Tensors.Count(t => IsTarget(t.Name, options.Targets, last) && t.Dimensions.Count == 2);
        if (targets == 0)
            throw new AdapterTrainingException($"{path}: has no blk.{last}.{{{string.Join(",", options.Targets)}}}.weight tensors to train.");
        return file;
    }

    private static int LastBlock(GgufFile file) => file.Tensors
        .Select(t => BlockWeight().Match(t.Name))
        .Where(m => m.Success)
        .Select(m => int.Parse(m.Groups["block"].Value, CultureInfo.InvariantCulture))
        .DefaultIfEmpty(-1)
        .Max();

    private static bool IsTarget(string name, IReadOnlyList<string> targets, int block)
    {
        var match = BlockWeight().Match(name);
        return match.Success && targets.Contains(match.Groups["kind"].Value)
            && int.Parse(match.Groups["block"].Value, CultureInfo.InvariantCulture) == block;
    }

    /// <summary>One conversation as tokens, labels (the next token) and which labels are reply tokens.</summary>
    private sealed record Example(int Line, int[] Tokens, bool[] Reply, int ReplyTokens);

    private static AdapterTrainingResult Run(
        AdapterTrainingOptions options, GgufFile baseFile, string trainingBase, IReadOnlyList<TrainingConversation> conversations,
        string output, IProgress<AdapterTrainingProgress>? progress, CancellationToken cancellationToken)
    {
        LlamaNative.EnsureConfigured();
        TrainingNative.EnsureLoaded();
        var threads = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        var modelParams = new ModelParams(Path.GetFullPath(trainingBase))
        {
            GpuLayerCount = 0,
            Threads = threads,
            BatchThreads = threads,
            LoadMode = LLamaLoadMode.None, // trained in place: the weights must be in writable memory, not a mapped file
        };
        using var weights = LoadWeights(modelParams, options.BasePath);
        progress?.Report(new AdapterTrainingProgress("prepare", 0, options.Epochs, 0, conversations.Count, $"formatting {conversations.Count} conversation(s) with the model's chat template"));
        var examples = conversations.Select(c => Format(weights, c, options)).ToList();
        var longest = examples.Max(e => e.Tokens.Length);
        var step = options.StepTokens;
        var window = (longest + step - 1) / step * step;

        modelParams.ContextSize = (uint)window;
        modelParams.BatchSize = (uint)step;
        modelParams.UBatchSize = (uint)step;
        modelParams.SeqMax = 1;
        modelParams.TypeK = GGMLType.GGML_TYPE_F32; // the backward pass needs F32 keys and values
        modelParams.TypeV = GGMLType.GGML_TYPE_F32;
        modelParams.FlashAttention = false;

        // Cancelling makes every graph llama.cpp computes from then on stop at once, so a step in progress (seconds on
        // a real model) ends quickly; what it leaves in the weights is thrown away with them.
        var abort = new AbortFlag();
        using var stopOnCancel = cancellationToken.Register(() => abort.Requested = true);
        var abortHandle = GCHandle.Alloc(abort);
        try
        {
            return Train(options, baseFile, trainingBase, examples, weights, modelParams, threads, window, step, output, abortHandle, progress, cancellationToken);
        }
        finally
        {
            abortHandle.Free();
        }
    }

    private static AdapterTrainingResult Train(
        AdapterTrainingOptions options, GgufFile baseFile, string trainingBase, List<Example> examples, LLamaWeights weights,
        ModelParams modelParams, int threads, int window, int step, string output, GCHandle abortHandle,
        IProgress<AdapterTrainingProgress>? progress, CancellationToken cancellationToken)
    {
        using var context = weights.CreateContext(modelParams);
        window = (int)context.NativeHandle.ContextSize;
        if (window % step != 0)
            throw new AdapterTrainingException($"llama.cpp made a context of {window} tokens, not a multiple of the {step}-token step.");
        SetAbort(context, abortHandle);

        var state = new RunState(options, examples, window, step, LastBlock(baseFile));
        var epochs = new List<AdapterEpoch>();
        using var evaluation = weights.CreateContext(new ModelParams(modelParams.ModelPath)
        {
            ContextSize = (uint)window,
            BatchSize = (uint)window,
            UBatchSize = (uint)Math.Min(window, 512),
            SeqMax = 1,
            Threads = threads,
            BatchThreads = threads,
        });
        SetAbort(evaluation, abortHandle);
        var (baseLoss, baseAccuracy) = Evaluate(evaluation, examples, cancellationToken);
        var before = new AdapterEpoch(0, baseLoss, baseAccuracy, double.NaN, TimeSpan.Zero);
        epochs.Add(before);
        progress?.Report(new AdapterTrainingProgress("train", 0, options.Epochs, examples.Count, examples.Count, "before training", before));
        unsafe
        {
            var handle = GCHandle.Alloc(state);
            try
            {
                Current = state;
                var parameters = new TrainingNative.OptParams
                {
                    NCtxTrain = 0,
                    ParamFilter = &Filter,
                    ParamFilterUserData = GCHandle.ToIntPtr(handle),
                    GetOptimizerParams = &OptimizerParameters,
                    GetOptimizerParamsUserData = GCHandle.ToIntPtr(handle),
                    OptimizerType = TrainingNative.OptimizerAdamW,
                };
                TrainingNative.llama_opt_init(context.NativeHandle.DangerousGetHandle(), weights.NativeHandle.DangerousGetHandle(), parameters);
                if (state.Failure is not null) throw state.Failure;
                if (state.Trained.Count == 0)
                    throw new AdapterTrainingException($"{options.BasePath}: llama.cpp offered none of the chosen weights for training (they must be F32 in the copy it loaded).");

                var dataset = TrainingNative.ggml_opt_dataset_init(TrainingNative.GgmlTypeI32, TrainingNative.GgmlTypeI32, window, window, 1, 1);
                var result = TrainingNative.ggml_opt_result_init();
                var unused = TrainingNative.ggml_opt_result_init();
                try
                {
                    var random = new Random(options.Seed);
                    var order = Enumerable.Range(0, examples.Count).ToArray();
                    for (var epoch = 1; epoch <= options.Epochs; epoch++)
                    {
                        var started = Stopwatch.GetTimestamp();
                        random.Shuffle(order);
                        state.BeginEpoch();
                        for (var i = 0; i < order.Length; i++)
                        {
                            cancellationToken.ThrowIfCancellationRequested();
                            var example = examples[order[i]];
                            state.Progress = ((epoch - 1) * order.Length + i) / (double)(options.Epochs * order.Length);
                            state.BeginExample(example, dataset);
                            TrainingNative.ggml_opt_result_reset(result);
                            TrainingNative.llama_opt_epoch(context.NativeHandle.DangerousGetHandle(), dataset, result, unused, 1, &AfterStep, null);
                            cancellationToken.ThrowIfCancellationRequested();
                            if (state.Failure is not null) throw state.Failure;
                            progress?.Report(new AdapterTrainingProgress("train", epoch, options.Epochs, i + 1, order.Length,
                                string.Create(CultureInfo.InvariantCulture, $"conversation from line {example.Line}: {example.Tokens.Length} tokens, {example.ReplyTokens} in replies")));
                        }

                        var elapsed = Stopwatch.GetElapsedTime(started);
                        var (loss, accuracy) = Evaluate(evaluation, examples, cancellationToken);
                        var figures = new AdapterEpoch(epoch, loss, accuracy, state.EpochStepLoss, elapsed);
                        epochs.Add(figures);
                        progress?.Report(new AdapterTrainingProgress("train", epoch, options.Epochs, order.Length, order.Length, "epoch done", figures));
                    }
                }
                finally
                {
                    TrainingNative.ggml_opt_result_free(result);
                    TrainingNative.ggml_opt_result_free(unused);
                    TrainingNative.ggml_opt_dataset_free(dataset);
                }
            }
            finally
            {
                Current = null;
                handle.Free();
            }
        }

        var (adapted, retained) = Extract(options, baseFile, trainingBase, state, output, progress, cancellationToken);
        CheckOutput(output, baseFile, weights, adapted);
        return new AdapterTrainingResult(
            output, baseFile.Info, epochs, examples.Count, examples.Sum(e => e.ReplyTokens), window, adapted,
            state.Trained.Sum(t => t.Elements), options.Rank, retained, false, TimeSpan.Zero);
    }

    /// <summary>Cross-entropy and top-1 accuracy over the reply tokens of every conversation, with the weights as they are now.</summary>
    private static (double Loss, double Accuracy) Evaluate(LLamaContext context, IReadOnlyList<Example> examples, CancellationToken cancellationToken)
    {
        double loss = 0;
        var right = 0;
        var count = 0;
        var batch = new LLamaBatch();
        foreach (var example in examples)
        {
            cancellationToken.ThrowIfCancellationRequested();
            context.NativeHandle.MemoryClear();
            batch.Clear();
            for (var p = 0; p < example.Tokens.Length; p++)
                batch.Add((LLamaToken)example.Tokens[p], p, LLamaSeqId.Zero, p + 1 < example.Tokens.Length && example.Reply[p + 1]);
            var decoded = context.NativeHandle.Decode(batch);
            cancellationToken.ThrowIfCancellationRequested();
            if (decoded != DecodeResult.Ok) throw new AdapterTrainingException($"llama.cpp could not evaluate the conversation from line {example.Line} ({decoded}).");
            for (var p = 0; p + 1 < example.Tokens.Length; p++)
            {
                if (!example.Reply[p + 1]) continue;
                var logits = context.NativeHandle.GetLogitsIth(p);
                var target = example.Tokens[p + 1];
                var max = float.NegativeInfinity;
                var best = 0;
                for (var v = 0; v < logits.Length; v++)
                {
                    if (logits[v] > max)
                    {
                        max = logits[v];
                        best = v;
                    }
                }

                double sum = 0;
                for (var v = 0; v < logits.Length; v++) sum += Math.Exp(logits[v] - max);
                loss += Math.Log(sum) - (logits[target] - max);
                if (best == target) right++;
                count++;
            }
        }

        return count == 0 ? (double.NaN, double.NaN) : (loss / count, (double)right / count);
    }

    private sealed class AbortFlag
    {
        public volatile bool Requested;
    }

    private static unsafe void SetAbort(LLamaContext context, GCHandle flag) =>
        NativeApi.llama_set_abort_callback(context.NativeHandle, (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, byte>)&ShouldAbort, GCHandle.ToIntPtr(flag));

    /// <summary>Asked by llama.cpp's compute threads between graph nodes.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static byte ShouldAbort(IntPtr flag) => ((AbortFlag)GCHandle.FromIntPtr(flag).Target!).Requested ? (byte)1 : (byte)0;

    private static LLamaWeights LoadWeights(ModelParams parameters, string basePath)
    {
        try
        {
            return LLamaWeights.LoadFromFile(parameters);
        }
        catch (Exception e) when (e is LLama.Exceptions.LoadWeightsFailedException or InvalidOperationException)
        {
            throw new AdapterTrainingException($"{basePath}: llama.cpp could not load the model to train ({e.Message}).");
        }
    }

    /// <summary>
    /// Renders a conversation with the model's own template (the persona's system prompt first) and marks the reply
    /// tokens: for each assistant turn, the tokens between the prompt that opens it and the end of the turn.
    /// </summary>
    private static Example Format(LLamaWeights weights, TrainingConversation conversation, AdapterTrainingOptions options)
    {
        var messages = conversation.Messages.ToList();
        if (options.SystemPrompt is not null)
        {
            messages.RemoveAll(m => m.Role == TrainingData.System);
            messages.Insert(0, new TrainingMessage(TrainingData.System, options.SystemPrompt));
        }

        var last = messages.FindLastIndex(m => m.Role == TrainingData.Assistant);
        messages = messages.Take(last + 1).ToList();
        var tokens = Tokenize(weights, Render(weights, messages, openReply: false));
        var reply = new bool[tokens.Length];
        for (var i = 0; i < messages.Count; i++)
        {
            if (messages[i].Role != TrainingData.Assistant) continue;
            var prompt = Tokenize(weights, Render(weights, messages.Take(i), openReply: true));
            var turn = Tokenize(weights, Render(weights, messages.Take(i + 1), openReply: false));
            if (!IsPrefix(prompt, turn) || !IsPrefix(turn, tokens))
                throw new AdapterTrainingException(
                    $"{options.DataPath} line {conversation.Line}: the model's chat template does not render this conversation turn by turn (an earlier turn changes when a later one is added), so the replies cannot be told apart.");
            // The reply runs up to and including the model's end-of-turn token; what the template adds after it
            // (a newline in ChatML) is never generated, so it is not learned.
            for (var p = prompt.Length; p < turn.Length; p++)
            {
                reply[p] = true;
                if (((LLamaToken)tokens[p]).IsEndOfGeneration(weights.Vocab)) break;
            }
        }

        if (tokens.Length > options.MaxTokens)
            throw new AdapterTrainingException($"{options.DataPath} line {conversation.Line}: the conversation is {tokens.Length} tokens long; the most a training conversation may be is {options.MaxTokens}.");
        return new Example(conversation.Line, tokens, reply, reply.Count(r => r));
    }

    private static string Render(LLamaWeights weights, IEnumerable<TrainingMessage> messages, bool openReply) =>
        LocalChatClient.Render(weights, messages.Select(m => (m.Role, m.Content)), openReply);

    private static int[] Tokenize(LLamaWeights weights, string text) =>
        [.. weights.Tokenize(text, true, true, Encoding.UTF8).Select(t => (int)t)];

    private static bool IsPrefix(int[] prefix, int[] whole) =>
        prefix.Length <= whole.Length && prefix.AsSpan().SequenceEqual(whole.AsSpan(0, prefix.Length));

    // ---- the training state the native callbacks report to (they run on the thread that called into llama.cpp) ----

    [ThreadStatic]
    private static RunState? Current;

    private sealed class RunState(AdapterTrainingOptions options, IReadOnlyList<Example> examples, int window, int step, int block)
    {
        private readonly int[] _tokens = new int[window];
        private readonly int[] _labels = new int[window];
        private readonly bool[] _replyLabel = new bool[window];
        private bool[] _stepTrains = [];
        private int _stepIndex;
        private double _previousSum;
        private double _replyLossSum;
        private int _replySteps;

        public List<(string Name, IntPtr Tensor, long Elements)> Trained { get; } = [];
        public Exception? Failure { get; set; }
        public AdapterTrainingOptions Options => options;

        public void BeginEpoch()
        {
            _replyLossSum = 0;
            _replySteps = 0;
        }

        public unsafe void BeginExample(Example example, IntPtr dataset)
        {
            var pad = example.Tokens[^1];
            Array.Fill(_tokens, pad);
            Array.Fill(_labels, pad);
            Array.Clear(_replyLabel);
            example.Tokens.CopyTo(_tokens, 0);
            for (var p = 0; p + 1 < example.Tokens.Length; p++)
            {
                _labels[p] = example.Tokens[p + 1];
                _replyLabel[p] = example.Reply[p + 1];
            }

            _stepTrains = new bool[window / step];
            for (var p = 0; p < window; p++)
                if (_replyLabel[p]) _stepTrains[p / step] = true;
            _stepIndex = 0;
            _previousSum = 0;
            fixed (int* tokens = _tokens)
                TrainingNative.ggml_backend_tensor_set(TrainingNative.ggml_opt_dataset_data(dataset), tokens, 0, (nuint)(window * sizeof(int)));
            fixed (int* labels = _labels)
                TrainingNative.ggml_backend_tensor_set(TrainingNative.ggml_opt_dataset_labels(dataset), labels, 0, (nuint)(window * sizeof(int)));
        }

        /// <summary>The optimiser settings for the step about to run: the real ones, or a step that changes nothing.</summary>
        public TrainingNative.OptimizerParams NextStep()
        {
            var trains = _stepIndex < _stepTrains.Length && _stepTrains[_stepIndex];
            return trains
                ? new TrainingNative.OptimizerParams
                {
                    AdamAlpha = LearningRate, AdamBeta1 = 0.9f, AdamBeta2 = 0.999f, AdamEps = 1e-8f, AdamWeightDecay = 0f,
                    SgdAlpha = LearningRate, SgdWeightDecay = 0f,
                }
                : new TrainingNative.OptimizerParams
                {
                    AdamAlpha = 1e-30f, AdamBeta1 = 1f - 1f / (1 << 24), AdamBeta2 = 1f - 1f / (1 << 24), AdamEps = 1e-8f, AdamWeightDecay = 0f,
                    SgdAlpha = 1e-30f, SgdWeightDecay = 0f,
                };
        }

        public unsafe void StepDone(IntPtr result)
        {
            double mean, uncertainty;
            TrainingNative.ggml_opt_result_loss(result, &mean, &uncertainty);
            var count = _stepIndex + 1;
            var sum = mean * count;
            var loss = sum - _previousSum;
            _previousSum = sum;
            if (_stepIndex < _stepTrains.Length && _stepTrains[_stepIndex])
            {
                _replyLossSum += loss;
                _replySteps++;
            }

            _stepIndex++;
        }

        /// <summary>How far through the run (0 to 1) the current conversation is; set by the loop.</summary>
        public double Progress { get; set; }

        /// <summary>The learning rate decays linearly from the one asked for to a tenth of it over the run.</summary>
        private float LearningRate => (float)(options.LearningRate * (1.0 - 0.9 * Math.Clamp(Progress, 0, 1)));

        public double EpochStepLoss => _replySteps > 0 ? _replyLossSum / _replySteps : double.NaN;

        public bool Accept(string name) => IsTarget(name, options.Targets, block);

        public IReadOnlyList<Example> Examples => examples;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static byte Filter(IntPtr tensor, IntPtr userData)
    {
        try
        {
            var state = (RunState)GCHandle.FromIntPtr(userData).Target!;
            var name = Marshal.PtrToStringUTF8(TrainingNative.ggml_get_name(tensor)) ?? "";
            if (!state.Accept(name)) return 0;
            state.Trained.Add((name, tensor, (long)TrainingNative.ggml_nbytes(tensor) / sizeof(float)));
            return 1;
        }
        catch (Exception e)
        {
            if (Current is { } current) current.Failure ??= e;
            return 0;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static TrainingNative.OptimizerParams OptimizerParameters(IntPtr userData)
    {
        try
        {
            return ((RunState)GCHandle.FromIntPtr(userData).Target!).NextStep();
        }
        catch (Exception e)
        {
            if (Current is { } current) current.Failure ??= e;
            return new TrainingNative.OptimizerParams { AdamAlpha = 1e-30f, AdamBeta1 = 0.9f, AdamBeta2 = 0.999f, AdamEps = 1e-8f, SgdAlpha = 1e-30f };
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void AfterStep(byte train, IntPtr optContext, IntPtr dataset, IntPtr result, long batch, long batches, long startedUs)
    {
        try
        {
            Current?.StepDone(result);
        }
        catch (Exception e)
        {
            if (Current is { } current) current.Failure ??= e;
        }
    }

    // ---- extraction: trained weights minus the base, factorised, written as a LoRA GGUF ----

    private static (int Adapted, double Retained) Extract(
        AdapterTrainingOptions options, GgufFile baseFile, string trainingBase, RunState state, string output,
        IProgress<AdapterTrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var f32 = GgufFile.Read(trainingBase);
        var factors = new List<(string Name, long Inputs, long Outputs, LowRankFactors Factors)>();
        double kept = 0, total = 0;
        using (var stream = new FileStream(trainingBase, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
        {
            var index = 0;
            foreach (var (name, tensor, elements) in state.Trained)
            {
                cancellationToken.ThrowIfCancellationRequested();
                index++;
                var info = f32.FindTensor(name) ?? throw new AdapterTrainingException($"{name}: trained by llama.cpp but not in {trainingBase}.");
                if (info.Type != GgmlType.F32 || info.ElementCount != elements || info.Dimensions.Count != 2)
                    throw new AdapterTrainingException($"{name}: llama.cpp's tensor does not match the file's ({info}).");
                var inputs = info.Dimensions[0];
                var outputs = info.Dimensions[1];
                var before = new float[elements];
                stream.Position = f32.DataPosition(info);
                stream.ReadExactly(MemoryMarshal.AsBytes(before.AsSpan()));
                var after = new float[elements];
                unsafe
                {
                    fixed (float* p = after) TrainingNative.ggml_backend_tensor_get(tensor, p, 0, (nuint)(elements * sizeof(float)));
                }

                double norm = 0;
                for (var i = 0; i < after.Length; i++)
                {
                    after[i] -= before[i];
                    norm += (double)after[i] * after[i];
                }

                var rank = (int)Math.Min(options.Rank, Math.Min(inputs, outputs));
                var f = LowRank.Factorize(after, (int)outputs, (int)inputs, options.Rank, options.Seed + index);
                kept += f.Retained * norm;
                total += norm;
                factors.Add((name, inputs, outputs, f));
                progress?.Report(new AdapterTrainingProgress("extract", 0, options.Epochs, index, state.Trained.Count,
                    string.Create(CultureInfo.InvariantCulture, $"{name}: rank {rank} keeps {f.Retained:P1} of the change")));
            }
        }

        var alpha = options.Alpha ?? options.Rank;
        // llama.cpp multiplies B·A by scale × alpha / rank; B carries rank / alpha so that scale 1.0 gives the trained change.
        var correction = (float)(options.Rank / alpha);
        progress?.Report(new AdapterTrainingProgress("write", 0, options.Epochs, 0, 1, $"writing {factors.Count * 2} adapter tensors"));
        using (var writer = GgufWriter.Create(output))
        {
            writer.AddMetadata("general.architecture", GgufValue.Of(baseFile.Info.Architecture!));
            writer.AddMetadata("general.type", GgufValue.Of(GgufModelInfo.AdapterKind));
            writer.AddMetadata("general.name", GgufValue.Of($"LoRA for {baseFile.Info.Name ?? Path.GetFileName(options.BasePath)}{(options.PersonaId is null ? "" : $" ({options.PersonaId})")}"));
            writer.AddMetadata("adapter.type", GgufValue.Of("lora"));
            writer.AddMetadata("adapter.lora.alpha", GgufValue.Of(alpha));
            writer.AddMetadata("chatplatform.training.data", GgufValue.Of(Path.GetFileName(options.DataPath)));
            if (options.PersonaId is not null) writer.AddMetadata("chatplatform.training.persona", GgufValue.Of(options.PersonaId));
            writer.AddMetadata("chatplatform.training.epochs", GgufValue.Of(options.Epochs));
            writer.AddMetadata("chatplatform.training.learning_rate", GgufValue.Of(options.LearningRate));
            writer.AddMetadata("chatplatform.training.retained", GgufValue.Of(total > 0 ? kept / total : 1.0));
            foreach (var (name, inputs, outputs, _) in factors)
            {
                writer.AddTensor(name + ".lora_a", GgmlType.F32, inputs, options.Rank);
                writer.AddTensor(name + ".lora_b", GgmlType.F32, options.Rank, outputs);
            }

            writer.WriteHeader();
            foreach (var (_, _, _, f) in factors)
            {
                cancellationToken.ThrowIfCancellationRequested();
                writer.WriteTensorData(f.A);
                if (correction != 1f) for (var i = 0; i < f.B.Length; i++) f.B[i] *= correction;
                writer.WriteTensorData(f.B);
            }

            writer.Complete();
        }

        return (factors.Count, total > 0 ? kept / total : 1.0);
    }

    private static void CheckOutput(string path, GgufFile baseFile, LLamaWeights weights, int adapted)
    {
        GgufModelInfo info;
        try
        {
            info = GgufFile.Read(path).Info;
        }
        catch (GgufFormatException e)
        {
            throw new AdapterTrainingException($"the adapter written is unreadable ({e.Message}); nothing was kept.");
        }

        if (!info.IsAdapter || info.Architecture != baseFile.Info.Architecture || info.Adapter?.AdaptedTensorCount != adapted)
            throw new AdapterTrainingException($"the adapter written does not check out ({info.Kind}, {info.Architecture}, {info.Adapter?.AdaptedTensorCount} tensors); nothing was kept.");
        try
        {
            weights.NativeHandle.LoadLoraFromFile(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new AdapterTrainingException($"llama.cpp does not accept the adapter written for this base ({e.Message}); nothing was kept.");
        }
    }

    [GeneratedRegex(@"^blk\.(?<block>\d+)\.(?<kind>[a-z_]+)\.weight$", RegexOptions.CultureInvariant)]
    private static partial Regex BlockWeight();
}
