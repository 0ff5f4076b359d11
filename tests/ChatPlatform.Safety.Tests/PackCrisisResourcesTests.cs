using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Safety.Tests;

/// <summary>A pack's own crisis resources (safety.yaml crisis.resources) in the crisis protocol.</summary>
public sealed class PackCrisisResourcesTests
{
    private const string Own = "You matter. Call the campus crisis line on 555-0142, day or night, or go to https://care.example.edu.";
    private const string CrisisEn = "I want to kill myself tonight";
    private const string CrisisZh = "我 不 想 活 了";

    private static PersonaPack WithEnglishResources()
    {
        var pack = Rules.Pack("mindchat");
        return pack with
        {
            Safety = pack.Safety with
            {
                Crisis = pack.Safety.Crisis with { Resources = new Dictionary<string, string> { ["en"] = Own } },
            },
        };
    }

    [Fact]
    public void Check_PackSetsResourcesForLocale_ItsTextIsTheCrisisReplyAndOtherLocalesKeepTheShared()
    {
        var pack = WithEnglishResources();

        var english = Rules.Input.Check(pack, CrisisEn, "en");
        var chinese = Rules.Input.Check(pack, CrisisZh, "zh-CN");
        var plain = Rules.Input.Check(Rules.Pack("mindchat"), CrisisEn, "en");

        Assert.Equal(InputAction.Crisis, english.Action);
        Assert.Equal(Own, english.Reply);
        Assert.Equal(InputAction.Crisis, chinese.Action);
        Assert.Equal(Rules.Input.SharedCrisisReplyFor("zh-CN"), chinese.Reply);
        Assert.Contains("12356", chinese.Reply, StringComparison.Ordinal);
        Assert.Equal(Rules.Input.SharedCrisisReplyFor("en"), plain.Reply);
        Assert.Contains("988", plain.Reply, StringComparison.Ordinal);
    }

    [Fact]
    public void CrisisReminderFor_PackResources_RepeatsThemElseTheSharedReminder()
    {
        var pack = WithEnglishResources();

        Assert.Equal(Own, Rules.Input.CrisisReminderFor(pack, "en"));
        Assert.Contains("12356", Rules.Input.CrisisReminderFor(pack, "zh-CN"), StringComparison.Ordinal);
        Assert.DoesNotContain("555-0142", Rules.Input.CrisisReminderFor(Rules.Pack("mindchat"), "en"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_PackResources_CrisisReplyWithoutModelFlagAndEventAndReminderLater()
    {
        var catalog = new PersonaCatalog([WithEnglishResources(), Rules.Pack("gradchat")]);
        var model = new ScriptedChatClient("Let's talk about it.");
        var store = new InMemoryConversationStore();
        var events = new InMemorySafetyEventSink();
        var orchestrator = new ChatOrchestrator(catalog, model, store, new ChatPlatformOptions(), Rules.Input, events);
        var ct = TestContext.Current.CancellationToken;

        var english = await OrchestratorRailsTests.RunAsync(orchestrator, new ChatTurn("mindchat", "en-1", CrisisEn, "en"));
        var chinese = await OrchestratorRailsTests.RunAsync(orchestrator, new ChatTurn("mindchat", "zh-1", CrisisZh, "zh-CN"));
        var later = await OrchestratorRailsTests.RunAsync(orchestrator, new ChatTurn("mindchat", "en-1", "thanks, can we talk about school?", "en"));

        Assert.Equal(Own, english);
        Assert.Equal(Rules.Input.SharedCrisisReplyFor("zh-CN"), chinese);
        Assert.Single(model.Calls);
        Assert.Contains(ConversationFlags.Crisis, await store.GetFlagsAsync("web", "en-1", ct));
        Assert.Equal(2, events.Events.Count(e => e.Rail == SafetyRails.Crisis));
        Assert.StartsWith("Let's talk about it.", later, StringComparison.Ordinal);
        Assert.EndsWith(Own, later, StringComparison.Ordinal);
    }
}
