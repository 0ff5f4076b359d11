using System.Text.Json;
using System.Threading.Channels;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Privacy;
using ChatPlatform.Data.Conversations;
using ChatPlatform.Data.Personas;
using ChatPlatform.Inference.Gguf;
using ChatPlatform.Inference.Models;
using ChatPlatform.Inference.Training;
using ChatPlatform.Knowledge;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Admin.Personas;

/// <summary>Settings of runs started from the console (<c>ChatPlatform:Training:*</c>).</summary>
public sealed class AdapterTrainingSettings
{
    public int Epochs { get; init; } = 3;
    public float LearningRate { get; init; } = 1e-4f;
    public int Rank { get; init; } = 8;

    /// <summary>CPU threads for a run; 0 means every core.</summary>
    public int Threads { get; init; }

    /// <summary>The most epochs an editor may ask for.</summary>
    public const int MaxEpochs = 50;
}

public enum AdapterTrainingState
{
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>Where a run stands, as the persona page shows it.</summary>
/// <param name="Loss">The reply loss of the last finished epoch (epoch 0 is the measurement before training).</param>
public sealed record AdapterTrainingStatus(
    string PersonaId,
    AdapterTrainingState State,
    string Stage,
    int Epoch,
    int Epochs,
    double? Loss,
    string Message,
    int? DraftVersion = null,
    string? AdapterPath = null)
{
    /// <summary>The figures of each epoch finished so far (epoch 0 is the measurement before training).</summary>
    public IReadOnlyList<AdapterEpoch> Finished { get; init; } = [];
}

/// <summary>A run to start: the persona, the transcripts an editor selected, and the epochs.</summary>
public sealed record AdapterTrainingRequest(string PersonaId, IReadOnlyList<long> TranscriptIds, int Epochs, string Actor);

/// <summary>
/// Builds a persona's training conversations: its curated answers (question and answer as one exchange) and the
/// stored transcripts an editor selected, each message passed through the platform's PII redactor first. Only the
/// user and assistant turns of a transcript are kept; the persona's system prompt is added by the trainer.
/// </summary>
public sealed class AdapterTrainingData(ConversationQueries conversations, ITextRedactor redactor, KnowledgeBase? knowledge = null)
{
    /// <exception cref="InvalidOperationException">A transcript is missing, belongs to another persona, or cannot be redacted; one line.</exception>
    public async Task<IReadOnlyList<IReadOnlyList<TrainingMessage>>> BuildAsync(string personaId, IReadOnlyList<long> transcriptIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transcriptIds);
        var result = new List<IReadOnlyList<TrainingMessage>>();
        if (knowledge is not null)
        {
            foreach (var curated in await knowledge.ListCuratedAsync(personaId, cancellationToken))
            {
                if (string.IsNullOrWhiteSpace(curated.Question) || string.IsNullOrWhiteSpace(curated.Answer)) continue;
                result.Add([new(TrainingData.User, curated.Question), new(TrainingData.Assistant, curated.Answer)]);
            }
        }

        if (transcriptIds.Count > 0 && redactor is IdentityRedactor)
            throw new InvalidOperationException("Transcripts cannot be used: this server has no PII redactor (the safety services are not loaded).");
        foreach (var id in transcriptIds.Distinct())
        {
            var transcript = await conversations.GetTranscriptAsync(id, cancellationToken)
                ?? throw new InvalidOperationException($"Conversation {id} does not exist (it may have been erased).");
            if (!string.Equals(transcript.Conversation.Persona, personaId, StringComparison.Ordinal))
                throw new InvalidOperationException($"Conversation {id} belongs to persona '{transcript.Conversation.Persona}', not '{personaId}'.");
            var messages = transcript.Messages
                .Where(m => m.Role is TrainingData.User or TrainingData.Assistant && !string.IsNullOrWhiteSpace(m.Text))
                .Select(m => new TrainingMessage(m.Role, redactor.Redact(m.Text)))
                .ToList();
            if (messages.Any(m => m.Role == TrainingData.Assistant)) result.Add(messages);
        }
        return result;
    }

    /// <summary>Writes conversations in the trainer's JSON Lines format: <c>{"messages":[{"role":…,"content":…}…]}</c> per line.</summary>
    public static void Write(string path, IEnumerable<IReadOnlyList<TrainingMessage>> conversations)
    {
        File.WriteAllLines(path, conversations.Select(c => JsonSerializer.Serialize(new
        {
            messages = c.Select(m => new { role = m.Role, content = m.Content }),
        })));
    }
}

/// <summary>
/// Runs adapter training for the console in the background, one run at a time: trains on the server's loaded base
/// model, keeps the adapter with the persona's uploads and names it, at scale 1, in the persona's draft, so the
/// playground can compare the draft with the live version. A run can be cancelled; stopping the host cancels it.
/// </summary>
public sealed partial class AdapterTrainingRuns(
    AdapterTrainingData data,
    PersonaVersions versions,
    AdapterTrainingSettings settings,
    ILogger<AdapterTrainingRuns> logger,
    ILoadedModel? model = null) : BackgroundService
{
    private readonly Channel<(AdapterTrainingRequest Request, CancellationTokenSource Cancel)> _queue =
        Channel.CreateBounded<(AdapterTrainingRequest, CancellationTokenSource)>(1);
    private readonly Lock _gate = new();
    private readonly Lazy<(string? Problem, string? Path)> _base = new(() => CheckBase(model ?? NoLoadedModel.Instance));
    private AdapterTrainingStatus? _status;
    private CancellationTokenSource? _cancel;

    /// <summary>Raised whenever a run's status changes (on a background thread).</summary>
    public event Action? Changed;

    public AdapterTrainingSettings Settings => settings;

    /// <summary>Why the console cannot train on this server, in one line; null when it can.</summary>
    public string? Unavailable => _base.Value.Problem;

    /// <summary>The latest run, running or finished; null when none has started since the server started.</summary>
    public AdapterTrainingStatus? Latest
    {
        get
        {
            lock (_gate) return _status;
        }
    }

    /// <summary>Queues a run; returns why it cannot start (one line), or null.</summary>
    public string? Start(AdapterTrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Unavailable is { } problem) return problem;
        if (request.Epochs is < 1 or > AdapterTrainingSettings.MaxEpochs)
            return $"Epochs must be 1 to {AdapterTrainingSettings.MaxEpochs}.";
        lock (_gate)
        {
            if (_status is { State: AdapterTrainingState.Running } running)
                return $"A training run for '{running.PersonaId}' is in progress; runs go one at a time.";
            var cancel = new CancellationTokenSource();
            if (!_queue.Writer.TryWrite((request, cancel)))
            {
                cancel.Dispose();
                return "The training queue is busy; try again in a moment.";
            }
            _cancel = cancel;
            _status = new AdapterTrainingStatus(request.PersonaId, AdapterTrainingState.Running, "queued", 0, request.Epochs, null, "Queued.");
        }
        Changed?.Invoke();
        return null;
    }

    /// <summary>Cancels the persona's running run; false when it has none.</summary>
    public bool Cancel(string personaId)
    {
        lock (_gate)
        {
            if (_status is not { State: AdapterTrainingState.Running } running || running.PersonaId != personaId || _cancel is null) return false;
            _cancel.Cancel();
            return true;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var (request, cancel) in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                using (cancel)
                using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancel.Token, stoppingToken))
                    await RunAsync(request, linked.Token);
                lock (_gate)
                {
                    // A run started just after this one finished has its own source already.
                    if (ReferenceEquals(_cancel, cancel)) _cancel = null;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RunAsync(AdapterTrainingRequest request, CancellationToken cancellationToken)
    {
        var personaId = request.PersonaId;
        var folder = Path.Combine(Path.GetTempPath(), "chatplatform-training-" + Guid.NewGuid().ToString("N"));
        try
        {
            Update(s => s with { Stage = "prepare", Message = "Collecting curated answers and transcripts." });
            var conversations = await data.BuildAsync(personaId, request.TranscriptIds, cancellationToken);
            if (conversations.Count == 0)
                throw new AdapterTrainingException("There is nothing to train on: add curated answers under Knowledge or select transcripts with replies.");

            var draft = await versions.GetOrCreateDraftAsync(personaId, request.Actor, cancellationToken);
            var form = PersonaForm.From(PackFiles.Parse(draft.Content));
            var systemPrompt = form.Locales.Count > 0 ? form.SystemPrompt.GetValueOrDefault(form.Locales[0]) : null;

            Directory.CreateDirectory(folder);
            var dataPath = Path.Combine(folder, "data.jsonl");
            AdapterTrainingData.Write(dataPath, conversations);
            var name = $"{personaId}-trained-{DateTime.UtcNow:yyyyMMdd-HHmmss}.gguf";
            var output = Path.Combine(versions.UploadsDirectory(personaId), "adapters", name);
            LogStarted(logger, personaId, conversations.Count, request.TranscriptIds.Count, request.Epochs);

            var result = await AdapterTrainer.TrainAsync(new AdapterTrainingOptions
            {
                BasePath = _base.Value.Path!,
                DataPath = dataPath,
                OutputPath = output,
                SystemPrompt = string.IsNullOrWhiteSpace(systemPrompt) ? null : systemPrompt,
                PersonaId = personaId,
                Rank = settings.Rank,
                Epochs = request.Epochs,
                LearningRate = settings.LearningRate,
                Threads = settings.Threads,
            }, new Reporter(this), cancellationToken);

            Update(s => s with { Stage = "draft", Message = "Adding the adapter to the draft." });
            var sha = await ModelDownloader.Sha256Async(result.Path, cancellationToken);
            var relative = "adapters/" + name;
            // The draft is read again: an editor may have saved it while the run went on.
            draft = await versions.GetOrCreateDraftAsync(personaId, request.Actor, CancellationToken.None);
            var files = PackFiles.Parse(draft.Content);
            form = PersonaForm.From(files);
            form.Adapters.RemoveAll(a => a.Path == relative);
            form.Adapters.Add(new AdapterForm { Path = relative, Scale = 1.0, Sha256 = sha });
            draft = await versions.SaveDraftAsync(personaId, form.ApplyTo(files), request.Actor, CancellationToken.None);
            await versions.WriteAuditAsync(request.Actor, "persona.adapter.train", personaId, new
            {
                version = draft.Number,
                adapter = relative,
                sha256 = sha,
                conversations = result.Conversations,
                transcripts = request.TranscriptIds.Count,
                epochs = request.Epochs,
                loss = result.Epochs[^1].ReplyLoss,
            }, CancellationToken.None);
            LogFinished(logger, personaId, result.Elapsed, draft.Number);
            var loss = result.Epochs[^1].ReplyLoss;
            var first = result.Epochs[0].ReplyLoss;
            Update(s => s with
            {
                State = AdapterTrainingState.Succeeded,
                Stage = "done",
                Loss = loss,
                DraftVersion = draft.Number,
                AdapterPath = relative,
                Message = FormattableString.Invariant($"Trained on {result.Conversations} conversations: reply loss {first:0.000} → {loss:0.000}. Draft v{draft.Number} uses {relative} at scale 1.00."),
            });
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogCancelled(logger, personaId);
            Update(s => s with { State = AdapterTrainingState.Cancelled, Message = "Cancelled; nothing was written." });
        }
        catch (Exception e) when (e is AdapterTrainingException or InvalidOperationException or InvalidDataException or ArgumentException or KeyNotFoundException or IOException)
        {
            LogFailed(logger, personaId, e.GetType().Name);
            Update(s => s with { State = AdapterTrainingState.Failed, Message = "Training failed: " + e.Message });
        }
#pragma warning disable CA1031 // a run that fails for any other reason must still end as failed, not stay "running"
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogCrashed(logger, e, personaId);
            Update(s => s with { State = AdapterTrainingState.Failed, Message = $"Training failed unexpectedly ({e.GetType().Name}); see the server log." });
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (DirectoryNotFoundException) { } catch (IOException) { }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Adapter training for {Persona} started on {Conversations} conversations ({Transcripts} transcripts), {Epochs} epochs")]
    private static partial void LogStarted(ILogger logger, string persona, int conversations, int transcripts, int epochs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Adapter training for {Persona} finished in {Elapsed}: draft v{Version}")]
    private static partial void LogFinished(ILogger logger, string persona, TimeSpan elapsed, int version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Adapter training for {Persona} was cancelled")]
    private static partial void LogCancelled(ILogger logger, string persona);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Adapter training for {Persona} did not finish ({Kind})")]
    private static partial void LogFailed(ILogger logger, string persona, string kind);

    [LoggerMessage(Level = LogLevel.Error, Message = "Adapter training for {Persona} failed unexpectedly")]
    private static partial void LogCrashed(ILogger logger, Exception exception, string persona);

    private void Update(Func<AdapterTrainingStatus, AdapterTrainingStatus> change)
    {
        lock (_gate)
        {
            if (_status is null) return;
            _status = change(_status);
        }
        Changed?.Invoke();
    }

    /// <summary>Reports each step as it happens (no synchronisation context to post to).</summary>
    private sealed class Reporter(AdapterTrainingRuns runs) : IProgress<AdapterTrainingProgress>
    {
        public void Report(AdapterTrainingProgress value) => runs.Update(s => s with
        {
            Stage = value.Stage,
            Epoch = value.Epoch,
            Epochs = value.Epochs,
            Loss = value.Finished?.ReplyLoss ?? s.Loss,
            Message = value.Message,
            Finished = value.Finished is { } epoch ? [.. s.Finished, epoch] : s.Finished,
        });
    }

    /// <summary>The loaded model's file when the console can train on it, or why not.</summary>
    private static (string? Problem, string? Path) CheckBase(ILoadedModel model)
    {
        if (!model.IsLoaded || model.ModelPath is not { } path)
            return ("Training is unavailable: this server uses a remote model backend; train where the model is loaded (chatplatform adapter train).", null);
        GgufModelInfo info;
        try
        {
            info = GgufFile.Read(path).Info;
        }
        catch (Exception e) when (e is GgufFormatException or IOException)
        {
            return ($"Training is unavailable: the loaded model file cannot be read ({e.Message}).", null);
        }
        if (!AdapterTrainer.Trains(info.Architecture))
            return ($"Training is unavailable: the loaded model's architecture '{info.Architecture ?? "none"}' cannot be trained here (supported: {string.Join(", ", AdapterTrainer.Architectures)}).", null);
        if (info.QuantizedTypes.Count > 0)
            return ($"Training is unavailable: the loaded model is quantised ({info.Quantization}); training needs its F16 or F32 original loaded.", null);
        return (null, path);
    }
}
