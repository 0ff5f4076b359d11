using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Knowledge;
using ChatPlatform.Core.Personas;
using ChatPlatform.Testing;
using Microsoft.Extensions.AI;
using Xunit;

namespace ChatPlatform.Core.Tests.Knowledge;

public sealed class KnowledgeTurnTests
{
    private readonly InMemoryConversationStore _store = new();

    private static readonly KnowledgePassage Deadline =
        new("guide.md#Deadlines", "Apply by 15 January.", "Admissions guide", "Deadlines", 3, "https://example.edu/guide", 1);

    private ChatOrchestrator Create(IChatClient client, KnowledgeLookup lookup, PersonaPack? pack = null) =>
        new(TestPersonas.Catalog(pack ?? TestPersonas.Create()), client, _store, new ChatPlatformOptions(), knowledge: new FixedRetriever(lookup));

    private static async Task<List<ChatEvent>> Drain(ChatStart start)
    {
        var events = new List<ChatEvent>();
        await foreach (var e in start.Events!) events.Add(e);
        return events;
    }

    [Fact]
    public async Task StartAsync_PassagesFound_PromptCarriesNumberedSourcesAndCompletionCitesThem()
    {
        var client = new ScriptedChatClient("By 15 January [1].");
        var ct = TestContext.Current.CancellationToken;

        var events = await Drain(await Create(client, new KnowledgeLookup(null, [Deadline])).StartAsync(new ChatTurn("testbot", "c1", "When is the deadline?", "en"), cancellationToken: ct));

        var prompt = client.Calls[0].Messages[^1].Text;
        Assert.Contains("[1] Admissions guide — Deadlines (p. 3)", prompt, StringComparison.Ordinal);
        Assert.Contains("Apply by 15 January.", prompt, StringComparison.Ordinal);
        Assert.EndsWith("Question: When is the deadline?", prompt, StringComparison.Ordinal);
        Assert.Equal("You are a test assistant.", client.Calls[0].Messages[0].Text);
        var done = Assert.IsType<ChatCompleted>(events[^1]);
        var citation = Assert.Single(done.Citations);
        Assert.Equal(new Citation(1, "guide.md#Deadlines", "Admissions guide", "Deadlines", 3, "https://example.edu/guide"), citation);
        // The store keeps what the person wrote, not the sources.
        var history = await _store.GetHistoryAsync("web", "c1", 10, ct);
        Assert.Equal("When is the deadline?", history[0].Text);
    }

    [Fact]
    public async Task StartAsync_CuratedMatch_AnsweredWithoutModelAndStored()
    {
        var client = new ScriptedChatClient("never") { FailWith = new InvalidOperationException("the model must not be called") };
        var ct = TestContext.Current.CancellationToken;
        var curated = new KnowledgeLookup(new CuratedMatch("fee", "Is the fee refundable?", "No, it is not refundable.", 0.9), []);

        var events = await Drain(await Create(client, curated).StartAsync(new ChatTurn("testbot", "c1", "can I get the fee back?", "en"), cancellationToken: ct));

        Assert.Empty(client.Calls);
        var done = Assert.IsType<ChatCompleted>(events[^1]);
        Assert.Equal(("No, it is not refundable.", ChatOrchestrator.CuratedFinishReason), (done.Text, done.FinishReason));
        var history = await _store.GetHistoryAsync("web", "c1", 10, ct);
        Assert.Equal([("user", "can I get the fee back?"), ("assistant", "No, it is not refundable.")], history.Select(m => (m.Role, m.Text)));
    }

    [Fact]
    public async Task StartAsync_NothingFoundAndPackRequiresGrounding_SaysSoWithoutModel()
    {
        var client = new ScriptedChatClient("never") { FailWith = new InvalidOperationException("the model must not be called") };
        var pack = TestPersonas.Create() with
        {
            Knowledge = new KnowledgeSettings
            {
                RequireGrounding = true,
                NotFound = new Dictionary<string, string> { ["en"] = "Not in my sources.", ["zh-CN"] = "资料里没有。" },
            },
        };

        var events = await Drain(await Create(client, KnowledgeLookup.Empty, pack).StartAsync(new ChatTurn("testbot", "c1", "什么是量子计算？", "zh-CN"), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Empty(client.Calls);
        var done = Assert.IsType<ChatCompleted>(events[^1]);
        Assert.Equal(("资料里没有。", ChatOrchestrator.NotFoundFinishReason), (done.Text, done.FinishReason));
    }

    [Fact]
    public async Task StartAsync_NothingFoundGroundingNotRequired_ModelAnswersWithoutSources()
    {
        var client = new ScriptedChatClient("Hello");

        var events = await Drain(await Create(client, KnowledgeLookup.Empty).StartAsync(new ChatTurn("testbot", "c1", "hi", "en"), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal("hi", client.Calls[0].Messages[^1].Text);
        Assert.Empty(Assert.IsType<ChatCompleted>(events[^1]).Citations);
    }

    [Fact]
    public async Task StartAsync_SourcesOverflowTheWindow_RetriedWithFewerPassages()
    {
        var client = new WindowClient(maxChars: 250);
        var passages = Enumerable.Range(1, 4).Select(i => Deadline with { Id = $"p{i}", Text = new string('x', 60) }).ToList();

        var events = await Drain(await Create(client, new KnowledgeLookup(null, passages)).StartAsync(new ChatTurn("testbot", "c1", "When?", "en"), cancellationToken: TestContext.Current.CancellationToken));

        var done = Assert.IsType<ChatCompleted>(events[^1]);
        Assert.Equal(["p1"], done.Citations.Select(c => c.Id));
        Assert.Equal(3, client.Attempts);
    }

    /// <summary>Refuses a prompt whose last message is longer than a limit, as the local core does when it does not fit.</summary>
    private sealed class WindowClient(int maxChars) : IChatClient
    {
        public int Attempts { get; private set; }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            Attempts++;
            await Task.Yield();
            if (messages.Last().Text.Length > maxChars)
                throw new ChatRejectedException(new ChatError(ChatErrorKind.TooLarge, ChatOrchestrator.ContextOverflowCode, "too long"));
            yield return new ChatResponseUpdate(ChatRole.Assistant, "ok");
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    private sealed class FixedRetriever(KnowledgeLookup lookup) : IKnowledgeRetriever
    {
        public Task<KnowledgeLookup> LookupAsync(PersonaPack pack, string question, string locale, CancellationToken cancellationToken = default) =>
            Task.FromResult(lookup);
    }
}
