using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Inference.Local;
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
}
