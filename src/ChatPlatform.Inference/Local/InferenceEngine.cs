using System.Collections.Concurrent;
using System.Threading.Channels;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Metrics;
using ChatPlatform.Core.Personas;
using LLama;
using LLama.Batched;
using LLama.Native;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Inference.Local;

/// <summary>
/// The shared inference core: one loaded model, decoded on one loop that batches every active conversation.
/// Conversations that use the same adapter set share a lane (a <see cref="BatchedExecutor"/> whose context
/// carries those adapters), so each decode step serves all of them at once.
/// </summary>
public sealed partial class InferenceEngine : IDisposable
{
    private const int MaxIdleLanes = 4;
    private const int MaxCacheEntries = 16;

    private readonly LocalModel _model;
    private readonly ModelOptions _options;
    private readonly ILogger _logger;
    private readonly ChatPlatformMetrics? _metrics;
    private readonly ConcurrentQueue<InferenceSequence> _pending = new();
    private readonly ConcurrentQueue<(Action Run, Action Cancel)> _between = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<InferenceLane> _lanes = [];
    private readonly Task _loop;
    private int _inFlight;
    private int _admissionHolds;

    /// <param name="metrics">Receives the wait queue's depth and prompt-cache hits and misses; null for engines outside the chat pipeline.</param>
    public InferenceEngine(LocalModel model, ModelOptions options, ILogger<InferenceEngine> logger, ChatPlatformMetrics? metrics = null)
    {
        _model = model;
        _options = options;
        _logger = logger;
        _metrics = metrics;
        metrics?.ObserveQueue(() => _pending.Count);
        _loop = Task.Factory.StartNew(LoopAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Turns on <see cref="Timings"/> (benchmarks); off by default.</summary>
    public bool CollectTimings { get; set; }

    /// <summary>Where the loop's time went while <see cref="CollectTimings"/> was on.</summary>
    public EngineTimings Timings { get; } = new();

    /// <summary>Requests admitted or waiting.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>
    /// Queues a reply. Throws <see cref="ChatRejectedException"/> (busy) at once when the slots and the wait queue are full.
    /// Cancelling <paramref name="cancellationToken"/> frees the conversation's slot at the next step.
    /// </summary>
    public ChannelReader<GenerationEvent> Submit(GenerationRequest request, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
        var capacity = _options.MaxConcurrentConversations + _options.MaxQueuedRequests;
        if (Interlocked.Increment(ref _inFlight) > capacity)
        {
            Interlocked.Decrement(ref _inFlight);
            throw ChatRejectedException.Busy(
                "All conversation slots are in use and the wait queue is full. Please try again shortly.", TimeSpan.FromSeconds(5));
        }

        var sequence = new InferenceSequence(request, cancellationToken);
        sequence.CancelRegistration = cancellationToken.Register(static s => ((SemaphoreSlim)s!).Release(), _wake);
        _pending.Enqueue(sequence);
        _wake.Release();
        return sequence.Output.Reader;
    }

    /// <summary>
    /// Keeps queued requests from being admitted until the returned handle is disposed, so requests submitted
    /// together start decoding in the same step (the benchmark measures N conversations side by side this way).
    /// Conversations already running go on.
    /// </summary>
    internal IDisposable HoldAdmission()
    {
        Interlocked.Increment(ref _admissionHolds);
        return new AdmissionHold(this);
    }

    private sealed class AdmissionHold(InferenceEngine engine) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0) return;
            Interlocked.Decrement(ref engine._admissionHolds);
            if (!engine._stopping.IsCancellationRequested) engine._wake.Release();
        }
    }

    private async Task LoopAsync()
    {
        var active = new List<InferenceSequence>();
        var stop = _stopping.Token;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                RunBetweenSteps();
                Admit(active);
                Reap(active);
                if (active.Count == 0)
                {
                    await _wake.WaitAsync(stop);
                    continue;
                }

                var clock = new StepClock(CollectTimings);
                List<InferenceLane>? broken = null;
                foreach (var lane in _lanes)
                {
                    if (lane.Executor.BatchedTokenCount == 0 && lane.Executor.BatchQueueCount == 0) continue;
                    var decodeStart = clock.Now();
                    var batchTokens = lane.Executor.BatchedTokenCount;
                    var result = await lane.Executor.Infer(stop);
                    clock.Decoded(decodeStart, batchTokens);
                    if (result == DecodeResult.Ok)
                    {
                        lane.Decoded();
                    }
                    else if (result == DecodeResult.NoKvSlot && lane.Cache.LiveTokens > 0)
                    {
                        // Cached prompts give way first; the batch is decoded again on the next step.
                        var freed = lane.Cache.ClearLive();
                        LogCacheCleared(freed);
                    }
                    else
                    {
                        // llama.cpp keeps a batch it could not decode queued, so nothing in this lane can go on:
                        // its replies end, and the lane is rebuilt for the next request.
                        Exception error = result == DecodeResult.NoKvSlot
                            ? ChatRejectedException.Busy("The model's memory is full. Please try again shortly.", TimeSpan.FromSeconds(5))
                            : new InvalidOperationException($"The model failed to decode ({result}).");
                        foreach (var s in active.Where(s => s.Lane == lane))
                            s.Fail(error);
                        LogLaneFailed(result);
                        (broken ??= []).Add(lane);
                    }
                }
                foreach (var lane in broken ?? [])
                    CloseLane(lane);

                Reap(active);
                foreach (var sequence in active)
                    Step(sequence, ref clock);
                // Timings first: a reply counts as done (InFlight) only once its last step is in them.
                if (clock.On) Timings.Add(clock);
                Reap(active);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                LogLoopFailure(e);
                foreach (var s in active) s.Fail(e);
                Reap(active);
            }
        }

        foreach (var s in active) s.Fail(new OperationCanceledException("The inference core is shutting down."));
        Reap(active);
        while (_pending.TryDequeue(out var s)) { s.Fail(new OperationCanceledException("The inference core is shutting down.")); s.Release(); Interlocked.Decrement(ref _inFlight); s.Close(); }
        RunBetweenSteps(cancel: true);
    }

    /// <summary>
    /// Drops the prompt cache's saved copies of the conversations with these hashed keys (they were erased). The loop
    /// does it between steps; the task completes with how many entries went.
    /// </summary>
    public Task<int> ForgetAsync(IReadOnlySet<string> owners) => BetweenSteps(() => _lanes.Sum(l => l.Cache.Forget(owners)));

    /// <summary>Whether a lane's prompt cache holds a saved conversation with this hashed key.</summary>
    public Task<bool> CacheHoldsAsync(string owner) => BetweenSteps(() => _lanes.Any(l => l.Cache.Holds(owner)));

    /// <summary>Runs <paramref name="work"/> on the loop between decode steps, where the lanes may be touched.</summary>
    private Task<T> BetweenSteps<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _between.Enqueue((() => done.TrySetResult(work()), () => done.TrySetCanceled()));
        if (_stopping.IsCancellationRequested || _loop.IsCompleted) RunBetweenSteps(cancel: true);
        else _wake.Release();
        return done.Task;
    }

    private void RunBetweenSteps(bool cancel = false)
    {
        while (_between.TryDequeue(out var item))
            (cancel ? item.Cancel : item.Run)();
    }

    private void Admit(List<InferenceSequence> active)
    {
        if (Volatile.Read(ref _admissionHolds) > 0) return;
        while (active.Count < _options.MaxConcurrentConversations && _pending.TryDequeue(out var sequence))
        {
            active.Add(sequence);
            if (sequence.CancellationToken.IsCancellationRequested) continue;
            try
            {
                var lane = GetLane(sequence.Request.Adapters);
                var tokens = sequence.Request.PromptTokens as LLamaToken[] ?? [.. sequence.Request.PromptTokens];
                var window = _options.ContextSize;
                if (tokens.Length >= window)
                    throw new ChatRejectedException(new ChatError(ChatErrorKind.TooLarge, ChatOrchestrator.ContextOverflowCode,
                        $"The conversation needs {tokens.Length} tokens but the model's window is {window}."));
                sequence.Start(lane, tokens, sequence.Request.SharedPrefixLength, _model.Weights);
                if (lane.Cache.Enabled) _metrics?.RecordPromptCache(hit: sequence.CachedPromptTokens > 0);
            }
            catch (Exception e)
            {
                sequence.Fail(e);
            }
        }
    }

    private void Step(InferenceSequence sequence, ref StepClock clock)
    {
        if (sequence.Finished || sequence.Conversation is not { RequiresSampling: true } conversation) return;
        try
        {
            if (!sequence.PrefixOffered)
            {
                // The prompt is decoded now: keep its system-prompt part for the persona's next conversations.
                sequence.PrefixOffered = true;
                if (sequence.PrefixLength > 0)
                    sequence.Lane!.Cache.AddPrefix(conversation, sequence.PromptTokenArray!, sequence.PrefixLength);
            }

            var sampleStart = clock.Now();
            var token = conversation.Sample(sequence.Sampler!);
            var textStart = clock.Sampled(sampleStart);
            var vocab = _model.Weights.Vocab;
            if (token.IsEndOfGeneration(vocab) && !sequence.Request.Sampling.IgnoreEndOfTurn)
            {
                sequence.Finish("stop");
                return;
            }

            sequence.OutputTokens++;
            sequence.Decoder!.Add(token);
            var text = sequence.Filter.Push(sequence.Decoder.Read());
            if (text.Length > 0) sequence.Output.Writer.TryWrite(new GenerationText(text));
            clock.Streamed(textStart);
            if (sequence.Filter.Stopped) { sequence.Finish("stop"); return; }
            if (sequence.OutputTokens >= sequence.Request.MaxTokens || conversation.TokenCount + 1 >= _options.ContextSize)
            {
                sequence.Finish("length");
                return;
            }
            conversation.Prompt(token);
            sequence.Tokens.Add(token);
        }
        catch (Exception e)
        {
            sequence.Fail(e);
        }
    }

    /// <summary>Removes finished and cancelled sequences, frees their slots, then ends their output.</summary>
    private void Reap(List<InferenceSequence> active)
    {
        for (var i = active.Count - 1; i >= 0; i--)
        {
            var s = active[i];
            if (!s.Finished && s.CancellationToken.IsCancellationRequested)
                s.Fail(new OperationCanceledException(s.CancellationToken));
            if (!s.Finished) continue;
            s.Release();
            active.RemoveAt(i);
            Interlocked.Decrement(ref _inFlight);
            s.Close();
        }
        TrimIdleLanes(active);
    }

    private InferenceLane GetLane(IReadOnlyList<AdapterRef> adapters)
    {
        var key = string.Join("|", adapters.Select(a => $"{a.Path}@{a.Scale:R}"));
        var lane = _lanes.Find(l => l.Key == key);
        if (lane is null)
        {
            lane = InferenceLane.Open(key, _model, _options, adapters, MaxCacheEntries);
            _lanes.Add(lane);
            LogLaneCreated(adapters.Count, _lanes.Count);
        }
        lane.LastUsed = Environment.TickCount64;
        return lane;
    }

    private void TrimIdleLanes(List<InferenceSequence> active)
    {
        if (_lanes.Count <= MaxIdleLanes) return;
        var idle = _lanes.Where(l => !active.Any(s => s.Lane == l)).OrderBy(l => l.LastUsed).ToList();
        foreach (var lane in idle.Take(_lanes.Count - MaxIdleLanes))
            CloseLane(lane);
    }

    private void CloseLane(InferenceLane lane)
    {
        lane.Close();
        _lanes.Remove(lane);
    }

    public void Dispose()
    {
        if (_stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        try { _loop.Wait(TimeSpan.FromSeconds(30)); } catch (AggregateException) { }
        foreach (var lane in _lanes)
            lane.Close();
        _lanes.Clear();
        _stopping.Dispose();
        _wake.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The inference loop failed; active replies were ended")]
    private partial void LogLoopFailure(Exception e);

    [LoggerMessage(Level = LogLevel.Information, Message = "The model's KV memory was full: dropped {Tokens} cached prompt tokens")]
    private partial void LogCacheCleared(int tokens);

    [LoggerMessage(Level = LogLevel.Warning, Message = "An inference lane could not decode its batch ({Result}); its replies were ended and the lane is rebuilt")]
    private partial void LogLaneFailed(DecodeResult result);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Created an inference lane with {AdapterCount} adapter(s); {LaneCount} lane(s) now")]
    private partial void LogLaneCreated(int adapterCount, int laneCount);
}
