using Xunit;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Testing;
using Microsoft.Extensions.AI;

namespace ChatPlatform.Core.Tests.Chat;

public sealed class ChatOrchestratorTests
{
    private readonly InMemoryConversationStore _store = new();
    private readonly ChatPlatformOptions _options = new() { MaxMessageChars = 50 };

    private ChatOrchestrator Create(IChatClient client) =>
        new(TestPersonas.Catalog(TestPersonas.Create("testbot"), TestPersonas.Create("other")), client, _store, _options);

    private static async Task<List<ChatEvent>> Drain(ChatStart start)
    {
        var events = new List<ChatEvent>();
        await foreach (var e in start.Events!) events.Add(e);
        return events;
    }

    [Fact]
    public async Task StartAsync_ValidTurn_StreamsChunksAndStoresBothMessages()
    {
        var client = new ScriptedChatClient("Hel", "lo ", "there");
        var start = await Create(client).StartAsync(new ChatTurn("testbot", "c1", "hi", "en"), cancellationToken: TestContext.Current.CancellationToken);

        var events = await Drain(start);

        Assert.Null(start.Error);
        Assert.Equal(["Hel", "lo ", "there"], events.OfType<ChatDelta>().Select(d => d.Text));
        var done = Assert.IsType<ChatCompleted>(events[^1]);
        Assert.Equal("Hello there", done.Text);
        var history = await _store.GetHistoryAsync("web", "c1", 10, TestContext.Current.CancellationToken);
        Assert.Equal([("user", "hi"), ("assistant", "Hello there")], history.Select(m => (m.Role, m.Text)));
    }

    [Fact]
    public async Task StartAsync_SecondTurn_PromptHasSystemThenHistoryThenNewMessage()
    {
        var client = new ScriptedChatClient("ok");
        var orchestrator = Create(client);
        await Drain(await orchestrator.StartAsync(new ChatTurn("testbot", "c1", "first", "en"), cancellationToken: TestContext.Current.CancellationToken));
        await Drain(await orchestrator.StartAsync(new ChatTurn("testbot", "c1", "second", "en"), cancellationToken: TestContext.Current.CancellationToken));

        var messages = client.Calls[1].Messages;
        Assert.Equal([ChatRole.System, ChatRole.User, ChatRole.Assistant, ChatRole.User], messages.Select(m => m.Role));
        Assert.Equal("You are a test assistant.", messages[0].Text);
        Assert.Equal(["first", "ok", "second"], messages.Skip(1).Select(m => m.Text));
    }

    [Fact]
    public async Task StartAsync_MessagesStoredByTheChannel_EachTurnSeesWhatCameBeforeItAndStoresOnlyItsReply()
    {
        // The person sent two messages before the first was answered; the channel stored both as they arrived.
        var ct = TestContext.Current.CancellationToken;
        var client = new ScriptedChatClient("ok");
        var orchestrator = Create(client);
        await _store.OpenAsync("web", "c1", "testbot", "en", null, ct);
        var first = await _store.AppendAsync("web", "c1", new StoredMessage("user", "first", DateTimeOffset.UtcNow), null, ct);
        var second = await _store.AppendAsync("web", "c1", new StoredMessage("user", "second", DateTimeOffset.UtcNow), null, ct);

        var one = await Drain(await orchestrator.StartAsync(new ChatTurn("testbot", "c1", "first", "en") { StoredSequence = first }, cancellationToken: ct));
        var two = await Drain(await orchestrator.StartAsync(new ChatTurn("testbot", "c1", "second", "en") { StoredSequence = second }, cancellationToken: ct));

        // The first turn does not see the question still waiting; the second sees the first and its reply, stored after it.
        Assert.Equal(["first"], client.Calls[0].Messages.Skip(1).Select(m => m.Text));
        Assert.Equal(["first", "ok", "second"], client.Calls[1].Messages.Skip(1).Select(m => m.Text));
        var history = await _store.GetHistoryAsync("web", "c1", 10, ct);
        Assert.Equal([("user", "first"), ("user", "second"), ("assistant", "ok"), ("assistant", "ok")], history.Select(m => (m.Role, m.Text)));
        Assert.Equal([3, 4], [Assert.IsType<ChatCompleted>(one[^1]).Sequence!.Value, Assert.IsType<ChatCompleted>(two[^1]).Sequence!.Value]);
    }

    [Fact]
    public async Task StartAsync_ChineseLocale_UsesChineseSystemPrompt()
    {
        var client = new ScriptedChatClient("好");
        await Drain(await Create(client).StartAsync(new ChatTurn("testbot", "c1", "你好", "zh"), cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal("你是测试助手。", client.Calls[0].Messages[0].Text);
    }

    [Theory]
    [InlineData("我最近压力很大，睡不着", "你是测试助手。")]
    [InlineData("我的APP打不开了怎么办", "你是测试助手。")]
    [InlineData("I can't sleep, I'm so stressed about exams", null)]
    public async Task StartAsync_NoLocale_RepliesInTheLanguageOfTheMessage(string text, string? chinesePrompt)
    {
        var client = new ScriptedChatClient("ok");
        var start = await Create(client).StartAsync(new ChatTurn("testbot", "c1", text), cancellationToken: TestContext.Current.CancellationToken);
        var completed = (await Drain(start)).OfType<ChatCompleted>().Single();

        Assert.Equal(chinesePrompt is null ? "en" : "zh-CN", completed.Locale);
        if (chinesePrompt is not null)
            Assert.Equal(chinesePrompt, client.Calls[0].Messages[0].Text);
    }

    [Theory]
    [InlineData("nobody", "c1", "hi", ChatErrorKind.NotFound, "unknown_persona")]
    [InlineData("testbot", "c1", "   ", ChatErrorKind.Invalid, "empty_message")]
    [InlineData("testbot", "", "hi", ChatErrorKind.Invalid, "missing_conversation_id")]
    [InlineData("testbot", "c1", "this message is far longer than the fifty characters allowed here", ChatErrorKind.TooLarge, "message_too_long")]
    public async Task StartAsync_BadTurn_RefusedWithoutCallingModelOrStoring(string persona, string conversation, string text, ChatErrorKind kind, string code)
    {
        var client = new ScriptedChatClient("never");
        var start = await Create(client).StartAsync(new ChatTurn(persona, conversation, text), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(kind, start.Error?.Kind);
        Assert.Equal(code, start.Error?.Code);
        Assert.Empty(client.Calls);
        Assert.Empty(await _store.GetHistoryAsync("web", conversation, 10, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task StartAsync_UnknownPersona_MessageListsAvailablePersonas()
    {
        var start = await Create(new ScriptedChatClient()).StartAsync(new ChatTurn("nobody", "c1", "hi"), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Contains("'nobody'", start.Error!.Message, StringComparison.Ordinal);
        Assert.Contains("testbot", start.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_ConversationOfAnotherPersona_Conflict()
    {
        var orchestrator = Create(new ScriptedChatClient("ok"));
        await Drain(await orchestrator.StartAsync(new ChatTurn("testbot", "c1", "hi"), cancellationToken: TestContext.Current.CancellationToken));

        var start = await orchestrator.StartAsync(new ChatTurn("other", "c1", "hi"), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(ChatErrorKind.Conflict, start.Error?.Kind);
        Assert.DoesNotContain("testbot", start.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_NewOrExistingAccess_OnlyTheRightConversationGetsIn()
    {
        var model = new ScriptedChatClient("ok");
        var orchestrator = Create(model);
        var ct = TestContext.Current.CancellationToken;
        await Drain(await orchestrator.StartAsync(new ChatTurn("testbot", "c1", "secret history") { Access = ConversationAccess.New }, cancellationToken: ct));

        var again = await orchestrator.StartAsync(new ChatTurn("testbot", "c1", "hi") { Access = ConversationAccess.New }, cancellationToken: ct);
        var unknown = await orchestrator.StartAsync(new ChatTurn("testbot", "c2", "hi") { Access = ConversationAccess.Existing }, cancellationToken: ct);
        var otherPersona = await orchestrator.StartAsync(new ChatTurn("other", "c1", "hi") { Access = ConversationAccess.Existing }, cancellationToken: ct);

        Assert.All(new[] { again, unknown, otherPersona }, s => Assert.Same(ChatOrchestrator.ConversationNotFound, s.Error));
        Assert.Single(model.Calls);
        await Drain(await orchestrator.StartAsync(new ChatTurn("testbot", "c1", "go on") { Access = ConversationAccess.Existing }, cancellationToken: ct));
        Assert.Contains(model.Calls[^1].Messages, m => m.Text == "secret history");
    }

    [Fact]
    public async Task StartAsync_BackendBusy_RefusedWithRetryAfterAndNothingStored()
    {
        var client = new ScriptedChatClient("x") { FailWith = ChatRejectedException.Busy("full", TimeSpan.FromSeconds(7)) };
        var start = await Create(client).StartAsync(new ChatTurn("testbot", "c1", "hi"), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(ChatErrorKind.Busy, start.Error?.Kind);
        Assert.Equal(TimeSpan.FromSeconds(7), start.RetryAfter);
        Assert.Empty(await _store.GetHistoryAsync("web", "c1", 10, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task StartAsync_RunOptions_PassPersonaSettingsAndOverridesToClient()
    {
        var client = new ScriptedChatClient("ok");
        var adapters = new[] { new global::ChatPlatform.Core.Personas.AdapterRef("/tmp/a.gguf", 0.5f, null) };
        await Drain(await Create(client).StartAsync(new ChatTurn("testbot", "c1", "hi"), new ChatRunOptions(adapters, 42), TestContext.Current.CancellationToken));

        var options = client.Calls[0].Options!;
        Assert.Equal(42, options.Seed);
        Assert.Equal(adapters, PersonaChatOptions.GetAdapters(options));
        Assert.Equal("testbot", options.AdditionalProperties![PersonaChatOptions.PersonaKey]);
    }
}
