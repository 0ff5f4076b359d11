using Xunit;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using ChatPlatform.Inference.Local;
using ChatPlatform.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChatPlatform.Inference.Tests.Local;

/// <summary>Real inference on the generated tiny model through the shared core.</summary>
public sealed class LocalChatClientTests : IClassFixture<TinyModelFixture>
{
    private readonly TinyModelFixture _fixture;

    public LocalChatClientTests(TinyModelFixture fixture) => _fixture = fixture;

    private (LocalChatClient Client, InferenceEngine Engine) Create(ModelOptions? options = null)
    {
        options ??= new ModelOptions { ContextSize = 2048, MaxConcurrentConversations = 4, Threads = 2 };
        var engine = new InferenceEngine(_fixture.Model, options, NullLogger<InferenceEngine>.Instance);
        return (new LocalChatClient(_fixture.Model, engine, options, NullLogger<LocalChatClient>.Instance), engine);
    }

    private static List<ChatMessage> Conversation(string text) =>
        [new(ChatRole.System, "You are a helpful study adviser."), new(ChatRole.User, text)];

    private static ChatOptions Options(long seed = 1, int maxTokens = 24, float temperature = 0.7f, IReadOnlyList<AdapterRef>? adapters = null) => new()
    {
        Seed = seed,
        MaxOutputTokens = maxTokens,
        Temperature = temperature,
        AdditionalProperties = new() { [PersonaChatOptions.AdaptersKey] = adapters ?? [] },
    };

    [Fact]
    public async Task GetStreamingResponseAsync_ModelAlreadyReleased_ThrowsObjectDisposedWithoutReadingIt()
    {
        var ct = TestContext.Current.CancellationToken;
        var options = new ModelOptions { ContextSize = 512, MaxConcurrentConversations = 1, Threads = 2 };
        var model = LocalModel.Load(TestModels.TinyPath, 2);
        using var engine = new InferenceEngine(model, options, NullLogger<InferenceEngine>.Instance);
        using var client = new LocalChatClient(model, engine, options, NullLogger<LocalChatClient>.Instance);

        model.Dispose();

        Assert.True(model.IsDisposed);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Collect(client, Conversation("Hello there"), Options(), ct));
    }

    [Fact]
    public async Task GetStreamingResponseAsync_AlreadyCancelled_StopsBeforeTokenizing()
    {
        var (client, engine) = Create();
        using var _ = engine;
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Collect(client, Conversation("Hello there"), Options(), cancelled.Token));
        Assert.Equal(0, engine.InFlight);
    }

    /// <summary>Greedy, and past the end-of-turn token to exactly <paramref name="maxTokens"/> tokens.</summary>
    private static ChatOptions GreedyToTheLimit(int maxTokens)
    {
        var options = Options(maxTokens: maxTokens, temperature: 0);
        options.AdditionalProperties![LocalChatClient.IgnoreEndOfTurnKey] = true;
        return options;
    }

    private static async Task<(string Text, ChatFinishReason? Reason)> Collect(LocalChatClient client, List<ChatMessage> messages, ChatOptions options, CancellationToken ct)
    {
        var response = await client.GetStreamingResponseAsync(messages, options, ct).ToChatResponseAsync(ct);
        return (response.Text, response.FinishReason);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_SameSeed_SameNonEmptyReply()
    {
        var (client, engine) = Create();
        using var _ = engine;
        var ct = TestContext.Current.CancellationToken;

        var replies = new List<string>();
        for (var seed = 1; seed <= 4; seed++)
        {
            var first = await Collect(client, Conversation("How do I choose a graduate program?"), Options(seed: seed), ct);
            var second = await Collect(client, Conversation("How do I choose a graduate program?"), Options(seed: seed), ct);
            Assert.Equal(first.Text, second.Text);
            replies.Add(first.Text);
        }

        Assert.Contains(replies, r => r.Trim().Length > 0);
        Assert.True(replies.Distinct().Count() > 1, "different seeds should sample different replies");
    }

    [Fact]
    public async Task GetStreamingResponseAsync_StreamsSeveralUpdatesWithUsage()
    {
        var (client, engine) = Create();
        using var _ = engine;
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync(Conversation("hello"), Options(maxTokens: 12, temperature: 0), TestContext.Current.CancellationToken))
            updates.Add(u);

        Assert.True(updates.Count(u => u.Text.Length > 0) > 1, "the reply should arrive in pieces");
        var usage = updates.SelectMany(u => u.Contents).OfType<UsageContent>().Single();
        Assert.InRange(usage.Details.OutputTokenCount ?? 0, 1, 12);
        Assert.True(usage.Details.InputTokenCount > 5);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_MaxTokensReached_FinishReasonLength()
    {
        var (client, engine) = Create();
        using var _ = engine;
        var reply = await Collect(client, Conversation("tell me everything"), Options(maxTokens: 3, temperature: 0), TestContext.Current.CancellationToken);
        Assert.True(reply.Reason == ChatFinishReason.Length || reply.Reason == ChatFinishReason.Stop);
        Assert.True(reply.Text.Length > 0);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_AdapterScaleZero_SameAsNoAdapter_ScaleOne_Differs()
    {
        var (client, engine) = Create();
        using var _ = engine;
        var ct = TestContext.Current.CancellationToken;
        var messages = Conversation("What should I study?");

        var plain = await Collect(client, messages, Options(maxTokens: 16, temperature: 0), ct);
        var zero = await Collect(client, messages, Options(maxTokens: 16, temperature: 0, adapters: [new AdapterRef(TestModels.LoraPath, 0f, null)]), ct);
        var one = await Collect(client, messages, Options(maxTokens: 16, temperature: 0, adapters: [new AdapterRef(TestModels.LoraPath, 1f, null)]), ct);

        Assert.Equal(plain.Text, zero.Text);
        Assert.NotEqual(plain.Text, one.Text);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_TwoAdaptersConcurrently_EachMatchesItsSoloRun()
    {
        var (client, engine) = Create();
        using var _ = engine;
        var ct = TestContext.Current.CancellationToken;
        var withAdapter = Options(maxTokens: 20, temperature: 0, adapters: [new AdapterRef(TestModels.LoraPath, 1f, null)]);
        var without = Options(maxTokens: 20, temperature: 0);

        var soloA = await Collect(client, Conversation("first question"), withAdapter, ct);
        var soloB = await Collect(client, Conversation("second question"), without, ct);
        var both = await Task.WhenAll(
            Collect(client, Conversation("first question"), withAdapter, ct),
            Collect(client, Conversation("second question"), without, ct));

        Assert.Equal(soloA.Text, both[0].Text);
        Assert.Equal(soloB.Text, both[1].Text);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_AllSlotsAndQueueFull_RejectsAsBusy()
    {
        var (client, engine) = Create(new ModelOptions { ContextSize = 2048, MaxConcurrentConversations = 1, MaxQueuedRequests = 0, Threads = 2 });
        using var _ = engine;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        await using var running = client.GetStreamingResponseAsync(Conversation("long answer please"), Options(maxTokens: 1000, temperature: 0), cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await running.MoveNextAsync());

        var busy = await Assert.ThrowsAsync<ChatRejectedException>(() => Collect(client, Conversation("me too"), Options(), TestContext.Current.CancellationToken));
        Assert.Equal(ChatErrorKind.Busy, busy.Error.Kind);
        Assert.NotNull(busy.RetryAfter);
        cts.Cancel();
    }

    [Fact]
    public async Task GetStreamingResponseAsync_CancelledRequest_FreesItsSlotForTheNext()
    {
        var (client, engine) = Create(new ModelOptions { ContextSize = 2048, MaxConcurrentConversations = 1, MaxQueuedRequests = 0, Threads = 2 });
        using var _ = engine;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var running = client.GetStreamingResponseAsync(Conversation("long answer please"), Options(maxTokens: 1000, temperature: 0), cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await running.MoveNextAsync());

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => { while (await running.MoveNextAsync()) { } });
        await running.DisposeAsync();

        var next = await Collect(client, Conversation("next"), Options(maxTokens: 4), TestContext.Current.CancellationToken);
        Assert.True(next.Text.Length > 0);
        Assert.Equal(0, engine.InFlight);
    }

    [Fact]
    public async Task OneSlotNoQueue_ARequestRightAfterAFinishedReply_IsNeverTurnedAway()
    {
        var (client, engine) = Create(new ModelOptions { ContextSize = 2048, MaxConcurrentConversations = 1, MaxQueuedRequests = 0, Threads = 2 });
        using var _ = engine;
        var ct = TestContext.Current.CancellationToken;

        // A reply read to its end has freed its slot: the next request, sent at once, is served, not refused as busy.
        for (var round = 0; round < 20; round++)
        {
            var reply = await Collect(client, Conversation($"question {round}"), Options(maxTokens: 2, temperature: 0), ct);
            Assert.True(reply.Text.Length > 0);
            Assert.Equal(0, engine.InFlight);
        }
    }

    [Fact]
    public async Task CancelledMidReply_LaterConversationsInTheLaneStillDecode()
    {
        var (client, engine) = Create();
        using var _ = engine;
        var ct = TestContext.Current.CancellationToken;
        for (var round = 0; round < 10; round++)
        {
            // A client that goes away as soon as text arrives, typically while its next token is queued for decoding.
            await foreach (var update in client.GetStreamingResponseAsync(Conversation($"long answer please {round}"), Options(maxTokens: 1000, temperature: 0), ct))
            {
                if (update.Text.Length > 0) break;
            }

            var next = await Collect(client, Conversation($"next question {round}"), Options(maxTokens: 4, temperature: 0), ct);
            Assert.True(next.Text.Length > 0);
        }
    }

    [Fact]
    public async Task GetStreamingResponseAsync_LongHistory_DropsOldestTurnsAndStillAnswers()
    {
        var (client, engine) = Create(new ModelOptions { ContextSize = 512, MaxConcurrentConversations = 1, Threads = 2 });
        using var _ = engine;
        var messages = new List<ChatMessage> { new(ChatRole.System, "You are a helpful study adviser.") };
        for (var i = 0; i < 40; i++)
        {
            messages.Add(new(ChatRole.User, $"Question number {i} about studying abroad and scholarships"));
            messages.Add(new(ChatRole.Assistant, $"Answer number {i} about applications, deadlines and references"));
        }
        messages.Add(new(ChatRole.User, "And the newest question?"));

        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync(messages, Options(maxTokens: 64), TestContext.Current.CancellationToken))
            updates.Add(u);

        var dropped = updates[0].AdditionalProperties?[LocalChatClient.DroppedMessagesKey];
        Assert.True(dropped is int n && n > 0);
        var usage = updates.SelectMany(u => u.Contents).OfType<UsageContent>().Single();
        Assert.True(usage.Details.InputTokenCount + 64 <= 512);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_SingleMessageLargerThanWindow_RejectedAsTooLarge()
    {
        var (client, engine) = Create(new ModelOptions { ContextSize = 256, MaxConcurrentConversations = 1, Threads = 2 });
        using var _ = engine;
        var huge = string.Concat(Enumerable.Repeat("scholarship deadline ", 400));

        var error = await Assert.ThrowsAsync<ChatRejectedException>(() => Collect(client, Conversation(huge), Options(), TestContext.Current.CancellationToken));

        Assert.Equal(ChatErrorKind.TooLarge, error.Error.Kind);
        Assert.Contains("256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CollectTimings_On_CountsEveryStepAndSampledToken()
    {
        var (client, engine) = Create();
        using var _ = engine;
        var ct = TestContext.Current.CancellationToken;
        var options = GreedyToTheLimit(maxTokens: 6);

        await Collect(client, Conversation("warm up"), options, ct);
        Assert.Equal(0, engine.Timings.Steps);

        engine.CollectTimings = true;
        await Collect(client, Conversation("count my steps"), options, ct);
        // The loop adds a step's timings just after the reply's last update; give it a moment.
        for (var i = 0; i < 100 && engine.Timings.Samples < 6; i++) await Task.Delay(20, ct);

        var timings = engine.Timings;
        Assert.Equal(6, timings.Samples);
        Assert.Equal(timings.Steps, timings.Decodes);
        Assert.True(timings.Steps >= 6, $"{timings.Steps} steps for 6 tokens");
        Assert.True(timings.Tokens > timings.Samples, "the prompt's tokens are decoded too");
        Assert.True(timings.Decode > TimeSpan.Zero && timings.Step >= timings.Decode + timings.Sample);
        Assert.Contains("ms/step", timings.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HoldAdmission_RequestsQueuedMeanwhile_StartTogetherInOneStep()
    {
        var (client, engine) = Create();
        using var _ = engine;
        var ct = TestContext.Current.CancellationToken;
        var options = GreedyToTheLimit(maxTokens: 4);
        engine.CollectTimings = true;

        Task<(string Text, ChatFinishReason? Reason)>[] replies;
        using (engine.HoldAdmission())
        {
            replies = [.. Enumerable.Range(0, 3).Select(i => Collect(client, Conversation($"Question {i} about deadlines"), options, ct))];
            await Task.Delay(300, ct);

            Assert.Equal(3, engine.InFlight);
            Assert.Equal(0, engine.Timings.Steps);
            Assert.DoesNotContain(replies, r => r.IsCompleted);
        }
        await Task.WhenAll(replies);
        for (var i = 0; i < 100 && engine.Timings.Samples < 12; i++) await Task.Delay(20, ct);

        // One step reads the three prompts and samples each reply's first token; three more finish them.
        Assert.Equal(12, engine.Timings.Samples);
        Assert.Equal(4, engine.Timings.Steps);
    }

    [Fact]
    public void Render_UsesModelChatTemplate_SystemFirst()
    {
        var prompt = LocalChatClient.Render(_fixture.Model.Weights, Conversation("hi"));
        Assert.StartsWith("<|im_start|>system\nYou are a helpful study adviser.<|im_end|>", prompt, StringComparison.Ordinal);
        Assert.EndsWith("<|im_start|>assistant\n", prompt, StringComparison.Ordinal);
    }
}

/// <summary>Loads the generated tiny model once for a test class.</summary>
public sealed class TinyModelFixture : IDisposable
{
    public LocalModel Model { get; } = LocalModel.Load(TestModels.TinyPath, threads: 2);

    public void Dispose() => Model.Dispose();
}
