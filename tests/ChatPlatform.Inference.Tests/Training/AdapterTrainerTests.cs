using System.Text.Json;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using ChatPlatform.Inference.Local;
using ChatPlatform.Inference.Models;
using ChatPlatform.Inference.Training;
using ChatPlatform.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace ChatPlatform.Inference.Tests.Training;

/// <summary>
/// Trains an adapter once on the generated tiny model with llama.cpp's own training, for the tests that use it.
/// One thread, a fixed data order and greedy decoding keep every run identical.
/// </summary>
public sealed class TrainedAdapterFixture : IAsyncLifetime
{
    public const string PersonaPrompt = "You are a friendly study helper.";

    /// <summary>Replies start with a Chinese character: the tiny model cannot emit an English word without its leading space marker first.</summary>
    public static readonly (string Question, string Reply)[] Pairs =
    [
        ("hello", "你好 friend how can I help you"),
        ("what should I read", "看 a good story book every day"),
        ("tell me about music", "听 music to stay calm"),
    ];

    public string Folder { get; } = TestModels.CreateScratchFolder();
    public string AdapterPath => Path.Combine(Folder, "study.lora.gguf");
    public AdapterTrainingResult Result { get; private set; } = null!;

    public static string WriteData(string folder, IEnumerable<(string Question, string Reply)> pairs, string name = "data.jsonl")
    {
        var path = Path.Combine(folder, name);
        File.WriteAllLines(path, pairs.Select(p => JsonSerializer.Serialize(new
        {
            messages = new[] { new { role = "user", content = p.Question }, new { role = "assistant", content = p.Reply } },
        })));
        return path;
    }

    public async ValueTask InitializeAsync()
    {
        Result = await AdapterTrainer.TrainAsync(new AdapterTrainingOptions
        {
            BasePath = TestModels.TinyPath,
            DataPath = WriteData(Folder, Pairs),
            OutputPath = AdapterPath,
            SystemPrompt = PersonaPrompt,
            PersonaId = "study",
            Rank = 32,
            Epochs = 16,
            LearningRate = 5e-3f,
            Threads = 1,
        }, cancellationToken: TestContext.Current.CancellationToken);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Real training with llama.cpp on the generated tiny model, then real inference through the core with the adapter it wrote.</summary>
public sealed class AdapterTrainerTests(TrainedAdapterFixture trained) : IClassFixture<TrainedAdapterFixture>
{
    private static readonly ModelOptions Inference = new() { ContextSize = 1024, MaxConcurrentConversations = 4, Threads = 1 };

    [Fact]
    public void TrainAsync_TinyModel_LowersTheReplyLossByALargeFactor()
    {
        var epochs = trained.Result.Epochs;
        Assert.Equal(0, epochs[0].Epoch);
        Assert.Equal(17, epochs.Count);
        Assert.True(epochs[^1].ReplyLoss < epochs[0].ReplyLoss / 10, $"reply loss went from {epochs[0].ReplyLoss} to {epochs[^1].ReplyLoss}");
        Assert.Equal(1.0, epochs[^1].ReplyAccuracy);
        Assert.Equal(5, trained.Result.AdaptedTensors);
        Assert.True(trained.Result.Retained is > 0.5 and <= 1.0, $"retained {trained.Result.Retained}");
        Assert.Empty(Directory.GetDirectories(trained.Folder));
    }

    [Fact]
    public void TrainAsync_TinyModel_WritesALoraAdapterForItsBase()
    {
        var file = ChatPlatform.Inference.Gguf.GgufFile.Read(trained.AdapterPath);
        Assert.True(file.Info.IsAdapter);
        Assert.Equal("llama", file.Info.Architecture);
        Assert.Equal("lora", file.Info.Adapter!.Type);
        Assert.Equal(32, file.Info.Adapter.Rank);
        Assert.Equal(5, file.Info.Adapter.AdaptedTensorCount);
        Assert.NotNull(file.FindTensor("blk.3.ffn_down.weight.lora_a"));
        Assert.Equal("study", file.GetString("chatplatform.training.persona"));
    }

    [Fact]
    public async Task TrainedAdapter_ScaleOne_ReproducesTheTrainedReplies_ScaleZero_GivesTheBaseReply()
    {
        var ct = TestContext.Current.CancellationToken;
        using var model = LocalModel.Load(TestModels.TinyPath, threads: 1);
        using var engine = new InferenceEngine(model, Inference, NullLogger<InferenceEngine>.Instance);
        using var client = new LocalChatClient(model, engine, Inference, NullLogger<LocalChatClient>.Instance);
        foreach (var (question, reply) in TrainedAdapterFixture.Pairs)
        {
            var plain = await Reply(client, question, [], ct);
            var one = await Reply(client, question, [new AdapterRef(trained.AdapterPath, 1f, null)], ct);
            var zero = await Reply(client, question, [new AdapterRef(trained.AdapterPath, 0f, null)], ct);
            Assert.NotEqual(reply, plain);
            Assert.Equal(reply, one);
            Assert.Equal(plain, zero);
        }
    }

    [Fact]
    public async Task TrainedAdapter_InALaneBesideOtherPersonasAdapters_LeavesTheirRepliesAsTheyWere()
    {
        var ct = TestContext.Current.CancellationToken;
        AdapterRef[] mine = [new(trained.AdapterPath, 1f, null)];
        AdapterRef[] other = [new(TestModels.LoraPath, 1f, null)];
        const string otherPrompt = "You are a calm counsellor.";

        string soloOther, soloNone;
        using (var model = LocalModel.Load(TestModels.TinyPath, threads: 1))
        using (var engine = new InferenceEngine(model, Inference, NullLogger<InferenceEngine>.Instance))
        using (var client = new LocalChatClient(model, engine, Inference, NullLogger<LocalChatClient>.Instance))
        {
            soloOther = await Reply(client, "hello", other, ct, otherPrompt);
            soloNone = await Reply(client, "hello", [], ct, otherPrompt);
        }

        using (var model = LocalModel.Load(TestModels.TinyPath, threads: 1))
        using (var engine = new InferenceEngine(model, Inference, NullLogger<InferenceEngine>.Instance))
        using (var client = new LocalChatClient(model, engine, Inference, NullLogger<LocalChatClient>.Instance))
        {
            var replies = await Task.WhenAll(
                Reply(client, "hello", mine, ct),
                Reply(client, "hello", other, ct, otherPrompt),
                Reply(client, "hello", [], ct, otherPrompt));
            Assert.Equal(TrainedAdapterFixture.Pairs[0].Reply, replies[0]);
            Assert.Equal(soloOther, replies[1]);
            Assert.Equal(soloNone, replies[2]);
            Assert.NotEqual(soloOther, soloNone);
        }
    }

    private static async Task<string> Reply(LocalChatClient client, string question, IReadOnlyList<AdapterRef> adapters, CancellationToken ct, string system = TrainedAdapterFixture.PersonaPrompt)
    {
        var options = new ChatOptions
        {
            Seed = 1,
            MaxOutputTokens = 24,
            Temperature = 0,
            AdditionalProperties = new() { [PersonaChatOptions.AdaptersKey] = adapters },
        };
        var response = await client.GetResponseAsync([new(ChatRole.System, system), new(ChatRole.User, question)], options, ct);
        return response.Text.Trim();
    }
}

/// <summary>What cannot be trained gets a one-line reason before any work starts, and a cancelled run leaves nothing.</summary>
public sealed class AdapterTrainerInputTests
{
    private static AdapterTrainingOptions Options(string folder, string? data = null, string? basePath = null) => new()
    {
        BasePath = basePath ?? TestModels.TinyPath,
        DataPath = data ?? TrainedAdapterFixture.WriteData(folder, TrainedAdapterFixture.Pairs),
        OutputPath = Path.Combine(folder, "out.gguf"),
        Threads = 1,
    };

    private static async Task<string> Refusal(AdapterTrainingOptions options)
    {
        var e = await Assert.ThrowsAsync<AdapterTrainingException>(() => AdapterTrainer.TrainAsync(options, cancellationToken: TestContext.Current.CancellationToken));
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(File.Exists(options.OutputPath));
        return e.Message;
    }

    [Fact]
    public async Task TrainAsync_QuantisedBase_SaysItIsQuantised()
    {
        var folder = TestModels.CreateScratchFolder();
        var quantised = Path.Combine(folder, "tiny-q8.gguf");
        await ModelQuantizer.QuantizeAsync(TestModels.TinyPath, quantised, ModelQuantizer.FindType("q8_0")!, threads: 1, cancellationToken: TestContext.Current.CancellationToken);

        var message = await Refusal(Options(folder, basePath: quantised));

        Assert.Contains("is quantised (Q8_0", message);
        Assert.Contains("F32 weights only", message);
    }

    [Fact]
    public async Task TrainAsync_AdapterAsBase_SaysItIsAnAdapter()
    {
        var folder = TestModels.CreateScratchFolder();
        Assert.Contains("is a LoRA adapter, not a base model", await Refusal(Options(folder, basePath: TestModels.LoraPath)));
    }

    [Fact]
    public async Task TrainAsync_BadJsonLine_NamesTheLine()
    {
        var folder = TestModels.CreateScratchFolder();
        var data = Path.Combine(folder, "bad.jsonl");
        File.WriteAllLines(data, ["""{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}""", "", "{not json"]);
        Assert.Contains("line 3: not valid JSON", await Refusal(Options(folder, data)));
    }

    [Fact]
    public async Task TrainAsync_ConversationWithoutAssistantTurn_NamesTheLine()
    {
        var folder = TestModels.CreateScratchFolder();
        var data = Path.Combine(folder, "user-only.jsonl");
        File.WriteAllLines(data, ["""{"messages":[{"role":"user","content":"hi"}]}"""]);
        Assert.Contains("line 1: has no assistant turn", await Refusal(Options(folder, data)));
    }

    [Fact]
    public async Task TrainAsync_UnknownRole_NamesTheLineAndMessage()
    {
        var folder = TestModels.CreateScratchFolder();
        var data = Path.Combine(folder, "role.jsonl");
        File.WriteAllLines(data, ["""{"messages":[{"role":"user","content":"hi"},{"role":"bot","content":"hello"}]}"""]);
        Assert.Contains("line 1: message 2 has role 'bot'", await Refusal(Options(folder, data)));
    }

    [Fact]
    public async Task TrainAsync_WeightThisBuildCannotTrain_SaysWhich()
    {
        var folder = TestModels.CreateScratchFolder();
        var message = await Refusal(Options(folder) with { Targets = ["attn_q", "attn_k"] });
        Assert.StartsWith("attn_k: cannot be trained", message);
    }

    [Fact]
    public async Task TrainAsync_Cancelled_LeavesNothingBehind()
    {
        var folder = TestModels.CreateScratchFolder();
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var progress = new Immediate(p =>
        {
            if (p.Stage == "train" && p.Epoch == 1) cancellation.Cancel();
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => AdapterTrainer.TrainAsync(Options(folder) with { Epochs = 3 }, progress, cancellation.Token));

        Assert.False(File.Exists(Path.Combine(folder, "out.gguf")));
        Assert.Empty(Directory.GetDirectories(folder));
        Assert.DoesNotContain(Directory.GetFiles(folder), f => !f.EndsWith("data.jsonl", StringComparison.Ordinal));
    }

    private sealed class Immediate(Action<AdapterTrainingProgress> report) : IProgress<AdapterTrainingProgress>
    {
        public void Report(AdapterTrainingProgress value) => report(value);
    }
}
