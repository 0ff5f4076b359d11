using ChatPlatform.Admin.Personas;
using ChatPlatform.Data;
using ChatPlatform.Data.Conversations;
using ChatPlatform.Data.Personas;
using ChatPlatform.Inference.Gguf;
using ChatPlatform.Inference.Training;
using ChatPlatform.Knowledge;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests.Admin;

/// <summary>A server whose console trains fast: the tiny model, a high learning rate, one thread.</summary>
public sealed class TrainingServerFactory : IDisposable
{
    public ServerFactory Factory { get; } = new();

    public TrainingServerFactory()
    {
        Factory.Settings["ChatPlatform:Training:LearningRate"] = "0.005";
        Factory.Settings["ChatPlatform:Training:Rank"] = "8";
        Factory.Settings["ChatPlatform:Training:Threads"] = "2";
    }

    public void Dispose() => Factory.Dispose();
}

/// <summary>
/// The console's adapter training on the real host: the real trainer on the generated tiny model, stored transcripts
/// redacted with the platform's PII redactor, and the persona draft that names the adapter written.
/// </summary>
public sealed class AdapterTrainingTests(TrainingServerFactory fixture) : IClassFixture<TrainingServerFactory>
{
    private const string Persona = "gradchat";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private ServerFactory Factory => fixture.Factory;

    private async Task<long> StoreTranscriptAsync(string persona, params (string Role, string Text)[] messages)
    {
        using var started = AdminLogin.Client(Factory); // starts the host and its schema
        await using var db = await Factory.Services.GetRequiredService<IDbContextFactory<ChatDbContext>>().CreateDbContextAsync(Ct);
        var now = DateTimeOffset.UtcNow;
        // Written directly, as a transcript stored before the persona's policy redacted personal data.
        var conversation = new ConversationRecord
        {
            Channel = "web", ExternalId = Guid.NewGuid().ToString("N"), PersonaId = persona, Locale = "en",
            MessageCount = messages.Length, CreatedAt = now, UpdatedAt = now,
        };
        db.Conversations.Add(conversation);
        await db.SaveChangesAsync(Ct);
        var sequence = 0;
        foreach (var (role, text) in messages)
            db.Messages.Add(new MessageRecord { ConversationId = conversation.Id, Sequence = ++sequence, Role = role, Text = text, CreatedAt = now });
        await db.SaveChangesAsync(Ct);
        return conversation.Id;
    }

    private static async Task<AdapterTrainingStatus> FinishedAsync(AdapterTrainingRuns runs)
    {
        for (var i = 0; i < 1200; i++)
        {
            if (runs.Latest is { State: not AdapterTrainingState.Running } done) return done;
            await Task.Delay(100, Ct);
        }
        throw new TimeoutException("The training run did not finish in 120 s.");
    }

    [Fact]
    public async Task BuildAsync_SelectedTranscript_IsRedactedAndUnselectedOnesStayOut()
    {
        var selected = await StoreTranscriptAsync(Persona,
            ("user", "Hi, I am writing from ada.lovelace@example.org, call me on 415-555-0134."),
            ("assistant", "Thanks, I can help with your application."));
        await StoreTranscriptAsync(Persona, ("user", "An unselected question about zebras"), ("assistant", "An unselected answer"));
        await Factory.Services.GetRequiredService<KnowledgeBase>().AddCuratedAsync(Persona, "When is the library open?", "From eight to eight.", "editor-a", cancellationToken: Ct);

        var data = await Factory.Services.GetRequiredService<AdapterTrainingData>().BuildAsync(Persona, [selected], Ct);

        var text = string.Join("\n", data.SelectMany(c => c).Select(m => m.Role + ": " + m.Content));
        Assert.DoesNotContain("ada.lovelace@example.org", text, StringComparison.Ordinal);
        Assert.DoesNotContain("415-555-0134", text, StringComparison.Ordinal);
        Assert.Contains("user: Hi, I am writing from [EMAIL], call me on [PHONE].", text, StringComparison.Ordinal);
        Assert.Contains("assistant: Thanks, I can help with your application.", text, StringComparison.Ordinal);
        Assert.Contains("assistant: From eight to eight.", text, StringComparison.Ordinal);
        Assert.DoesNotContain("zebras", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_SelectedTranscript_TrainsWithProgressAndDraftNamesTheAdapter()
    {
        var runs = Factory.Services.GetRequiredService<AdapterTrainingRuns>();
        var selected = await StoreTranscriptAsync(Persona,
            ("user", "My email is grace.hopper@example.com, which course fits me?"),
            ("assistant", "看 the course list with your advisor first"));
        Assert.Null(runs.Unavailable);
        var seen = new List<AdapterTrainingStatus>();
        void Record() { if (runs.Latest is { } s) lock (seen) seen.Add(s); }
        runs.Changed += Record;
        try
        {
            Assert.Null(runs.Start(new AdapterTrainingRequest(Persona, [selected], 2, "editor-t")));
            Assert.NotNull(runs.Start(new AdapterTrainingRequest("mindchat", [], 2, "editor-t"))); // one at a time
            var done = await FinishedAsync(runs);

            Assert.True(done.State == AdapterTrainingState.Succeeded, done.Message);
            lock (seen)
            {
                Assert.Contains(seen, s => s.Stage == "train" && s.Epoch == 2 && s.Epochs == 2);
                Assert.Contains(seen, s => s.Loss is > 0);
            }
            var versions = Factory.Services.GetRequiredService<PersonaVersions>();
            var draft = (await versions.HistoryAsync(Persona, Ct)).Single(v => v.Status == PersonaVersionStatus.Draft);
            Assert.Equal(done.DraftVersion, draft.Number);
            var adapters = PersonaForm.From(PackFiles.Parse(draft.Content)).Adapters;
            var adapter = Assert.Single(adapters, a => a.Path == done.AdapterPath);
            Assert.Equal(1.0, adapter.Scale);
            Assert.NotNull(adapter.Sha256);
            var file = versions.FindBinary(Persona, adapter.Path);
            Assert.NotNull(file);
            var info = GgufFile.Read(file).Info;
            Assert.True(info.IsAdapter);
            Assert.Equal(Persona, GgufFile.Read(file).GetString("chatplatform.training.persona"));
            Assert.Contains("Draft v" + draft.Number, done.Message, StringComparison.Ordinal);
            Assert.True(versions.LoadTrial(Persona, PackFiles.Parse(draft.Content)).Pack is not null, "the trained draft does not load");
        }
        finally
        {
            runs.Changed -= Record;
        }
    }

    [Fact]
    public async Task Start_TranscriptOfAnotherPersona_FailsWithOneLineAndLeavesNoDraft()
    {
        var runs = Factory.Services.GetRequiredService<AdapterTrainingRuns>();
        var other = await StoreTranscriptAsync("mindchat", ("user", "hello"), ("assistant", "hi there"));
        await FinishedOrNoneAsync(runs);

        Assert.Null(runs.Start(new AdapterTrainingRequest("sunsimiao", [other], 1, "editor-t")));
        var done = await FinishedAsync(runs);

        Assert.Equal(AdapterTrainingState.Failed, done.State);
        Assert.Equal($"Training failed: Conversation {other} belongs to persona 'mindchat', not 'sunsimiao'.", done.Message);
        Assert.Equal("Epochs must be 1 to 50.", runs.Start(new AdapterTrainingRequest("sunsimiao", [], 0, "editor-t")));
    }

    [Fact]
    public async Task Cancel_RunningRun_EndsCancelledAndWritesNoAdapter()
    {
        var runs = Factory.Services.GetRequiredService<AdapterTrainingRuns>();
        var selected = await StoreTranscriptAsync("mindchat", ("user", "How do I sleep better?"), ("assistant", "睡 early and keep a routine"));
        await FinishedOrNoneAsync(runs);
        var training = new TaskCompletionSource();
        void Watch() { if (runs.Latest is { Stage: "train", PersonaId: "mindchat" }) training.TrySetResult(); }
        runs.Changed += Watch;
        try
        {
            Assert.Null(runs.Start(new AdapterTrainingRequest("mindchat", [selected], AdapterTrainingSettings.MaxEpochs, "editor-t")));
            await training.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
            Assert.True(runs.Cancel("mindchat"));
            var done = await FinishedAsync(runs);

            Assert.Equal(AdapterTrainingState.Cancelled, done.State);
            var folder = Path.Combine(Factory.Services.GetRequiredService<PersonaVersions>().UploadsDirectory("mindchat"), "adapters");
            Assert.False(Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*.gguf").Any());
        }
        finally
        {
            runs.Changed -= Watch;
        }
    }

    [Fact]
    public async Task Unavailable_RemoteBackendOrQuantisedModel_SaysWhyInOneLineAndStartsNothing()
    {
        using var started = AdminLogin.Client(Factory);
        var remote = ActivatorUtilities.CreateInstance<AdapterTrainingRuns>(Factory.Services, (ChatPlatform.Core.Chat.ILoadedModel)ChatPlatform.Core.Chat.NoLoadedModel.Instance);
        var quantisedPath = Path.Combine(ChatPlatform.Testing.TestModels.CreateScratchFolder(), "tiny-q8_0.gguf");
        await ChatPlatform.Inference.Models.ModelQuantizer.QuantizeAsync(ChatPlatform.Testing.TestModels.TinyPath, quantisedPath,
            ChatPlatform.Inference.Models.ModelQuantizer.FindType("q8_0")!, 1, cancellationToken: Ct);
        using var model = ChatPlatform.Inference.Local.LocalModel.Load(quantisedPath, threads: 1);
        var quantised = ActivatorUtilities.CreateInstance<AdapterTrainingRuns>(Factory.Services,
            (ChatPlatform.Core.Chat.ILoadedModel)new ChatPlatform.Inference.Local.LoadedLocalModel(model));

        Assert.StartsWith("Training is unavailable: this server uses a remote model backend", remote.Unavailable, StringComparison.Ordinal);
        Assert.StartsWith("Training is unavailable: the loaded model is quantised (", quantised.Unavailable, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', quantised.Unavailable!);
        Assert.Equal(remote.Unavailable, remote.Start(new AdapterTrainingRequest(Persona, [], 1, "editor-t")));
        Assert.Null(remote.Latest);
    }

    private static async Task FinishedOrNoneAsync(AdapterTrainingRuns runs)
    {
        if (runs.Latest is { State: AdapterTrainingState.Running }) await FinishedAsync(runs);
    }
}
