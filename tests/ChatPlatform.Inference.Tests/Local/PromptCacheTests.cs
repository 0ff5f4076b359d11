using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Inference.Local;
using LLama.Batched;
using LLama.Common;
using LLama.Native;
using LLama.Sampling;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace ChatPlatform.Inference.Tests.Local;

/// <summary>Replies built on cached decoded state must be exactly the replies of an uncached run.</summary>
public sealed class PromptCacheTests(TinyModelFixture fixture) : IClassFixture<TinyModelFixture>
{
    private const string SystemPrompt =
        "You are GradChat, a careful adviser for students who plan graduate study, study abroad or a first job. " +
        "Be honest about uncertainty, point to official sources, and keep answers short and kind. 你好，我们一起来规划。";

    private LocalChatClient Client(int cacheTokens, out InferenceEngine engine)
    {
        var options = new ModelOptions { ContextSize = 2048, MaxConcurrentConversations = 4, Threads = 2, PromptCacheTokens = cacheTokens };
        engine = new InferenceEngine(fixture.Model, options, NullLogger<InferenceEngine>.Instance);
        return new LocalChatClient(fixture.Model, engine, options, NullLogger<LocalChatClient>.Instance);
    }

    private static ChatOptions Options(float temperature) => new() { Seed = 3, MaxOutputTokens = 24, Temperature = temperature };

    private static async Task<(string Text, long Cached)> Ask(LocalChatClient client, List<ChatMessage> messages, float temperature)
    {
        var response = await client.GetStreamingResponseAsync(messages, Options(temperature), TestContext.Current.CancellationToken)
            .ToChatResponseAsync(TestContext.Current.CancellationToken);
        var usage = response.Usage!;
        return (response.Text, usage.AdditionalCounts![LocalChatClient.CachedInputTokensKey]);
    }

    private static List<ChatMessage> Conversation(params string[] turns)
    {
        var messages = new List<ChatMessage> { new(ChatRole.System, SystemPrompt) };
        for (var i = 0; i < turns.Length; i++)
            messages.Add(new(i % 2 == 0 ? ChatRole.User : ChatRole.Assistant, turns[i]));
        return messages;
    }

    /// <remarks>
    /// Greedy: reused KV cells sit at other places in the cache, so attention sums in another order and logits may
    /// differ in the last bits; the chosen tokens do not.
    /// </remarks>
    [Theory]
    [InlineData(0f)]
    public async Task NewConversation_ForkedFromCachedSystemPrompt_SameAsUncached(float temperature)
    {
        var cached = Client(8192, out var cachedEngine);
        var plain = Client(0, out var plainEngine);
        using (cachedEngine)
        using (plainEngine)
        {
            await Ask(cached, Conversation("How do I pick a supervisor?"), temperature);
            var warm = await Ask(cached, Conversation("What about scholarships abroad?"), temperature);
            var cold = await Ask(plain, Conversation("What about scholarships abroad?"), temperature);

            Assert.True(warm.Cached > 20, $"the system prompt should come from the cache (reused {warm.Cached})");
            Assert.Equal(0, cold.Cached);
            Assert.Equal(cold.Text, warm.Text);
        }
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(0.8f)]
    public async Task ReturningConversation_ContinuesFromItsDecodedState_SameAsUncached(float temperature)
    {
        var cached = Client(8192, out var cachedEngine);
        var plain = Client(0, out var plainEngine);
        using (cachedEngine)
        using (plainEngine)
        {
            var first = await Ask(cached, Conversation("I want to study in Germany."), temperature);
            var second = Conversation("I want to study in Germany.", first.Text, "Which documents do I need?");
            var warm = await Ask(cached, second, temperature);
            var cold = await Ask(plain, second, temperature);

            var firstPromptTokens = fixture.Model.Weights.Tokenize(LocalChatClient.Render(fixture.Model.Weights, Conversation("I want to study in Germany.")), true, true, System.Text.Encoding.UTF8).Length;
            Assert.True(warm.Cached >= firstPromptTokens, $"the first turn should be reused ({warm.Cached} of at least {firstPromptTokens})");
            Assert.Equal(cold.Text, warm.Text);
        }
    }

    [Fact]
    public async Task CacheTooSmallForAnyPrompt_NothingReused_SameReplies()
    {
        var tiny = Client(PromptCache.MinimumReuse + 1, out var tinyEngine);
        var plain = Client(0, out var plainEngine);
        using (tinyEngine)
        using (plainEngine)
        {
            await Ask(tiny, Conversation("hello"), 0f);
            var again = await Ask(tiny, Conversation("hello again"), 0f);
            var cold = await Ask(plain, Conversation("hello again"), 0f);

            Assert.Equal(0, again.Cached);
            Assert.Equal(cold.Text, again.Text);
        }
    }

    [Fact]
    public async Task ManyPersonasConcurrently_EachMatchesItsUncachedReply()
    {
        var cached = Client(8192, out var cachedEngine);
        var plain = Client(0, out var plainEngine);
        using (cachedEngine)
        using (plainEngine)
        {
            List<ChatMessage> Persona(int i, string text) =>
                [new(ChatRole.System, $"Persona number {i}: {SystemPrompt}"), new(ChatRole.User, text)];

            for (var round = 0; round < 2; round++)
            {
                var warm = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Ask(cached, Persona(i, $"question {round} {i}"), 0f)));
                for (var i = 0; i < 4; i++)
                    Assert.Equal((await Ask(plain, Persona(i, $"question {round} {i}"), 0f)).Text, warm[i].Text);
            }
        }
    }

    private BatchedExecutor Executor(uint contextSize = 2048) => new(fixture.Model.Weights, new ModelParams(fixture.Model.Path)
    {
        ContextSize = contextSize,
        SeqMax = 8,
        KVUnified = true,
        Threads = 2,
        BatchThreads = 2,
        GpuLayerCount = 0,
    });

    private LLamaToken[] Tokens(string text) =>
        fixture.Model.Weights.Tokenize(LocalChatClient.Render(fixture.Model.Weights, Conversation(text)), true, true, System.Text.Encoding.UTF8);

    private static async Task<LLamaToken> NextToken(BatchedExecutor executor, Conversation conversation)
    {
        while (conversation.RequiresInference)
            Assert.Equal(DecodeResult.Ok, await executor.Infer(TestContext.Current.CancellationToken));
        using var greedy = new GreedySamplingPipeline();
        return conversation.Sample(greedy);
    }

    [Fact]
    public async Task FinishedConversation_LeavesLiveMemory_AndComesBackFromHostMemory()
    {
        using var executor = Executor();
        var cache = new PromptCache(4096, 16);
        var first = Tokens("How long does a master's degree take?");
        var conversation = executor.Create();
        conversation.Prompt(first);
        var next = await NextToken(executor, conversation);
        var id = conversation.ConversationId;

        cache.Add(conversation, first);

        // Nothing of the finished conversation is left in the live KV memory; the cache still holds it.
        Assert.Equal(-1, executor.Context.NativeHandle.MemorySequenceMaxPosition(id).Value);
        Assert.Equal(0, cache.LiveTokens);
        Assert.Equal(first.Length, cache.Tokens);

        // The next turn starts from the saved state and continues exactly as a fresh read of the whole prompt.
        var second = (LLamaToken[])[.. first, next, .. Tokens("And the fees?")[^6..]];
        var (restored, reused) = cache.Start(executor, second);
        var fresh = executor.Create();
        fresh.Prompt(second);

        Assert.Equal(first.Length, reused);
        Assert.Equal(await NextToken(executor, fresh), await NextToken(executor, restored));
        restored.Dispose();
        fresh.Dispose();
        cache.Clear();
    }

    [Fact]
    public async Task SavedStateWithoutRoomInLiveMemory_IsDropped_AndThePromptIsReadFresh()
    {
        using var executor = Executor(contextSize: 512);
        var cache = new PromptCache(4096, 16);
        var prompt = Tokens(string.Concat(Enumerable.Repeat("deadline ", 40)));
        Assert.InRange(prompt.Length, 250, 400);
        var conversation = executor.Create();
        conversation.Prompt(prompt);
        await NextToken(executor, conversation);
        cache.Add(conversation, prompt);

        // Another conversation now fills the live memory, so the saved one cannot be copied back in.
        var filler = executor.Create();
        filler.Prompt(Tokens(string.Concat(Enumerable.Repeat("visa ", 100))).AsSpan(0, 300));
        await NextToken(executor, filler);

        var (started, reused) = cache.Start(executor, prompt);

        Assert.Equal(0, reused);
        Assert.Equal(0, cache.Count);
        Assert.Equal(prompt.Length, started.TokenCount);
        started.Dispose();
        filler.Dispose();
    }
}
