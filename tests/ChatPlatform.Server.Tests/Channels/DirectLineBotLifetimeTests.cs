using ChatPlatform.Channels.DirectLine;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using ChatPlatform.Testing;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace ChatPlatform.Server.Tests.Channels;

public sealed class DirectLineBotLifetimeTests
{
    [Fact]
    public async Task DisposeAsync_TurnStillAnswering_ReturnsOnlyAfterTheTurnHasStopped()
    {
        var catalog = PersonaCatalog.Load(RepoPaths.Personas);
        // A reply of 100 slow pieces: it would take 20 s if the stopping application did not cancel it.
        var model = new ScriptedChatClient([.. Enumerable.Repeat("word ", 100)]) { ChunkDelay = TimeSpan.FromMilliseconds(200) };
        var store = new InMemoryConversationStore();
        var orchestrator = new ChatOrchestrator(catalog, model, store, new ChatPlatformOptions());
        var lifetime = new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance);
        var options = new DirectLineOptions();
        var conversations = new DirectLineConversations(catalog, store, TimeProvider.System, options, NullLogger<DirectLineConversations>.Instance);
        var bot = new DirectLineBot(orchestrator, conversations, catalog, options, lifetime, NullLogger<DirectLineBot>.Instance);
        var conversation = new DirectLineConversation("lifetime-1", "gradchat", "user-1", "en");
        var message = new DirectLineActivity { Type = "message", Text = "Tell me about deadlines." };
        var stored = await conversations.AddUserMessageAsync(conversation, message, message.Text, "en", TestContext.Current.CancellationToken);

        bot.Answer(conversation, message, stored, message.Text, "en");
        for (var i = 0; i < 200 && model.Calls.Count == 0; i++)
            await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.Single(model.Calls);
        Assert.Equal(1, bot.Running);

        lifetime.StopApplication();
        await bot.DisposeAsync();

        Assert.Equal(0, bot.Running);
    }
}
