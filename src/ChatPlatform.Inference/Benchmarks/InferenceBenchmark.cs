using System.Diagnostics;
using System.Text;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using ChatPlatform.Inference.Local;
using LLama.Batched;
using LLama.Common;
using LLama.Sampling;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChatPlatform.Inference.Benchmarks;

/// <summary>Settings for one benchmark run.</summary>
public sealed record BenchmarkSettings(
    string ModelPath,
    IReadOnlyList<string> AdapterPaths,
    int Threads,
    int OutputTokens = 64,
    int ContextSize = 2048,
    int PersonaPromptTokens = 500,
    bool Profile = false);

/// <summary>
/// Measures the shared inference core against a plain LLamaSharp decode loop on the same model, in one process:
/// single-stream and batched throughput, mixed adapters, time to first token cold and warm, and memory.
/// </summary>
public static class InferenceBenchmark
{
    private const int Rounds = 2;

    public static async Task<BenchmarkResult> RunAsync(BenchmarkSettings settings, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        if (settings.AdapterPaths.Count < 3)
            throw new ArgumentException("The benchmark needs three LoRA adapters for the mixed-persona measurement.", nameof(settings));

        var result = new BenchmarkResult { Model = Path.GetFileName(settings.ModelPath), Threads = settings.Threads, OutputTokens = settings.OutputTokens };
        using var model = LocalModel.Load(settings.ModelPath, settings.Threads);

        progress?.Report("raw decode loop");
        result.RawDecodeTps = RawDecode(model, settings, 1);
        progress?.Report("raw decode loop, 4 conversations batched");
        result.RawAggregateTps4 = RawDecode(model, settings, 4);

        var options = new ModelOptions
        {
            ContextSize = settings.ContextSize,
            MaxConcurrentConversations = 8,
            MaxQueuedRequests = 8,
            Threads = settings.Threads,
            PromptCacheTokens = settings.ContextSize * 2,
        };
        using var engine = new InferenceEngine(model, options, NullLogger<InferenceEngine>.Instance);
        using var client = new LocalChatClient(model, engine, options, NullLogger<LocalChatClient>.Instance);
        engine.CollectTimings = settings.Profile;
        if (settings.Profile) result.Profile = [];
        // Each figure is the better of two rounds, as for the plain loop, so one noisy round does not decide a ratio.
        async Task<double> Measure(string name, Func<int, List<Job>> jobs)
        {
            double best = 0;
            string? profile = null;
            for (var round = 0; round < Rounds; round++)
            {
                await WaitIdle(engine, cancellationToken);
                engine.Timings.Reset();
                var tps = (await Generate(client, engine, jobs(round), cancellationToken)).Tps;
                await WaitIdle(engine, cancellationToken); // the loop adds the last step's timings after the last update
                if (tps <= best) continue;
                best = tps;
                profile = engine.Timings.ToString();
            }
            if (profile is not null) result.Profile?.Add(name, profile);
            return best;
        }

        progress?.Report("single stream through the core");
        await Generate(client, engine, [Request("persona-a", "Tell me about graduate school.", null, settings)], cancellationToken); // warm-up
        result.SingleStreamTps = await Measure("single_stream", round => [Request("persona-a", $"How do I plan my studies? ({round})", null, settings)]);

        foreach (var n in new[] { 1, 2, 4, 8 })
        {
            progress?.Report($"{n} concurrent conversation(s), one persona");
            var key = n.ToString(System.Globalization.CultureInfo.InvariantCulture);
            result.AggregateTps[key] = await Measure($"aggregate@{key}", round => Enumerable.Range(0, n)
                .Select(i => Request("persona-a", $"Question {i} about applications and deadlines ({round}).", null, settings)).ToList());
        }

        progress?.Report("memory with one persona loaded");
        var adapters = settings.AdapterPaths.Take(3).ToList();
        await Generate(client, engine, [Request("persona-1", "warm up", adapters[0], settings)], cancellationToken);
        result.RssMbOnePersona = RssMb();

        progress?.Report("4 concurrent conversations across 3 personas with 3 adapters");
        await Generate(client, engine, adapters.Select((a, i) => Request($"persona-{i + 1}", "warm up", a, settings)).ToList(), cancellationToken);
        result.MixedAggregateTps = await Measure("mixed", round => Enumerable.Range(0, 4)
            .Select(i => Request($"persona-{i % 3 + 1}", $"Mixed question {i} ({round}).", adapters[i % 3], settings)).ToList());
        result.RssMbThreePersonas = RssMb();
        result.AdapterMb = adapters.Sum(a => new FileInfo(a).Length) / 3.0 / (1 << 20);
        result.KvBudgetMb = KvMegabytes(model, options);

        progress?.Report("time to first token, cold and warm");
        var persona = PersonaPrompt(model, settings.PersonaPromptTokens);
        result.PersonaPromptTokens = model.Weights.Tokenize(persona, false, false, Encoding.UTF8).Length;
        result.TtftColdMs = await FirstToken(client, persona, "First visitor question.", cancellationToken);
        result.TtftWarmMs = await FirstToken(client, persona, "Second visitor question.", cancellationToken);
        return result;
    }

    /// <summary>
    /// The reference: a plain <see cref="BatchedExecutor"/> loop with greedy sampling, no template, no text decoding,
    /// no streaming, <paramref name="conversations"/> conversations decoded together.
    /// </summary>
    private static double RawDecode(LocalModel model, BenchmarkSettings settings, int conversations)
    {
        var parameters = new ModelParams(model.Path)
        {
            ContextSize = (uint)(settings.ContextSize * conversations),
            SeqMax = (uint)conversations,
            KVUnified = true,
            Threads = settings.Threads,
            BatchThreads = settings.Threads,
            GpuLayerCount = 0,
        };
        using var executor = new BatchedExecutor(model.Weights, parameters);
        using var sampler = new GreedySamplingPipeline();
        double best = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var active = Enumerable.Range(0, conversations).Select(i =>
            {
                var c = executor.Create();
                c.Prompt(executor.Context.Tokenize($"Tell me about graduate school, question {i}.", true, true));
                return c;
            }).ToList();
            executor.Infer().GetAwaiter().GetResult();
            var tokens = active.Select(c => c.Sample(sampler)).ToList();
            var watch = Stopwatch.StartNew();
            for (var step = 1; step < settings.OutputTokens; step++)
            {
                for (var i = 0; i < active.Count; i++) active[i].Prompt(tokens[i]);
                executor.Infer().GetAwaiter().GetResult();
                for (var i = 0; i < active.Count; i++) tokens[i] = active[i].Sample(sampler);
            }
            best = Math.Max(best, conversations * (settings.OutputTokens - 1) / watch.Elapsed.TotalSeconds);
            foreach (var c in active) c.Dispose();
        }
        return best;
    }

    private sealed record Job(List<ChatMessage> Messages, ChatOptions Options);

    private static Job Request(string persona, string text, string? adapter, BenchmarkSettings settings) => new(
        [new(ChatRole.System, $"You are {persona}, a helpful assistant."), new(ChatRole.User, text)],
        new ChatOptions
        {
            Temperature = 0.7f,
            TopP = 0.9f,
            TopK = 40,
            Seed = 1,
            MaxOutputTokens = settings.OutputTokens,
            AdditionalProperties = new()
            {
                [PersonaChatOptions.AdaptersKey] = adapter is null ? Array.Empty<AdapterRef>() : new[] { new AdapterRef(adapter, 1f, null) },
                [LocalChatClient.IgnoreEndOfTurnKey] = true,
            },
        });

    /// <summary>
    /// Runs the jobs side by side: all are queued before the core admits any, so their prompts are read in one step
    /// and every reply then decodes in the same steps. Throughput counts output tokens from the first token to the
    /// last, so it covers decoding only (prompt reading is what <c>ttft_ms</c> measures), as for the single stream.
    /// </summary>
    private static async Task<(double Tps, int Tokens)> Generate(LocalChatClient client, InferenceEngine engine, List<Job> jobs, CancellationToken cancellationToken)
    {
        await WaitIdle(engine, cancellationToken);
        var clock = Stopwatch.StartNew();
        var firsts = new double[jobs.Count];
        var ends = new double[jobs.Count];
        var counts = new int[jobs.Count];
        Task all;
        using (engine.HoldAdmission())
        {
            all = Task.WhenAll(jobs.Select(async (job, i) =>
            {
                firsts[i] = double.NaN;
                await foreach (var update in client.GetStreamingResponseAsync(job.Messages, job.Options, cancellationToken))
                {
                    if (double.IsNaN(firsts[i]) && update.Text.Length > 0) firsts[i] = clock.Elapsed.TotalSeconds;
                    foreach (var usage in update.Contents.OfType<UsageContent>())
                        counts[i] = (int)(usage.Details.OutputTokenCount ?? 0);
                }
                ends[i] = clock.Elapsed.TotalSeconds;
            }));
            for (var i = 0; i < 5000 && engine.InFlight < jobs.Count && !all.IsCompleted; i++) await Task.Delay(1, cancellationToken);
        }
        await all;
        var start = firsts.Where(f => !double.IsNaN(f)).DefaultIfEmpty(0).Min();
        var tokens = counts.Sum() - jobs.Count; // the first token of each reply comes with the prompt
        return (tokens / Math.Max(1e-9, ends.Max() - start), counts.Sum());
    }

    /// <summary>The previous measurement's conversations leave the core a moment after their last update.</summary>
    private static async Task WaitIdle(InferenceEngine engine, CancellationToken cancellationToken)
    {
        for (var i = 0; i < 500 && engine.InFlight > 0; i++) await Task.Delay(2, cancellationToken);
    }

    private static async Task<double> FirstToken(LocalChatClient client, string persona, string question, CancellationToken cancellationToken)
    {
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 2, AdditionalProperties = new() { [LocalChatClient.IgnoreEndOfTurnKey] = true } };
        var watch = Stopwatch.StartNew();
        await foreach (var update in client.GetStreamingResponseAsync([new(ChatRole.System, persona), new(ChatRole.User, question)], options, cancellationToken))
        {
            if (update.Text.Length > 0)
                return watch.Elapsed.TotalMilliseconds;
        }
        return watch.Elapsed.TotalMilliseconds;
    }

    /// <summary>A persona prompt of about <paramref name="tokens"/> tokens under the model's tokenizer.</summary>
    private static string PersonaPrompt(LocalModel model, int tokens)
    {
        const string sentence = "You are a patient study and career adviser who explains admission rules, deadlines, scholarships and references clearly. ";
        var text = new StringBuilder();
        while (model.Weights.Tokenize(text.ToString(), false, false, Encoding.UTF8).Length < tokens)
            text.Append(sentence);
        return text.ToString();
    }

    private static double RssMb()
    {
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64 / (double)(1 << 20);
    }

    /// <summary>KV memory of one lane: two tensors (K and V) per layer per cached token, in F16.</summary>
    private static double KvMegabytes(LocalModel model, ModelOptions options)
    {
        var metadata = model.Weights.Metadata;
        var arch = model.Architecture;
        int Get(string key, int fallback) => metadata.TryGetValue($"{arch}.{key}", out var v) && int.TryParse(v, out var n) ? n : fallback;
        var layers = Get("block_count", 0);
        var embedding = Get("embedding_length", 0);
        var heads = Math.Max(1, Get("attention.head_count", 1));
        var kvHeads = Get("attention.head_count_kv", heads);
        var kvWidth = embedding / heads * kvHeads;
        var tokens = (long)options.ContextSize * options.MaxConcurrentConversations + options.PromptCacheTokens;
        return tokens * layers * kvWidth * 2L * 2 / (double)(1 << 20);
    }
}
