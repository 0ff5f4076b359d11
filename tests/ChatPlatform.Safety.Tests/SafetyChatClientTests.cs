using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using ChatPlatform.Safety.Output;
using ChatPlatform.Testing;
using Microsoft.Extensions.AI;
using Xunit;

namespace ChatPlatform.Safety.Tests;

public sealed class SafetyChatClientTests
{
    private static ChatOptions OptionsFor(string persona, string locale)
    {
        var options = PersonaChatOptions.Create(Rules.Pack(persona));
        options.AdditionalProperties![PersonaChatOptions.LocaleKey] = locale;
        options.AdditionalProperties[PersonaChatOptions.ConversationKey] = "c1";
        return options;
    }

    private static List<ChatMessage> Messages(string persona, string locale) =>
        [new(ChatRole.System, Rules.Pack(persona).SystemPromptFor(locale)), new(ChatRole.User, "hi")];

    [Fact]
    public async Task GetStreamingResponseAsync_BlockedSentenceSplitAcrossChunks_NeverReachesTheClient()
    {
        var inner = new ScriptedChatClient("I hear you. ", "The lethal dose ", "is about 10", "0 pills. ", "Please stay safe. ");
        var events = new InMemorySafetyEventSink();
        using var client = new SafetyChatClient(inner, Rules.Output, new PersonaCatalogStub(Rules.Pack("mindchat")), events);

        var received = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(Messages("mindchat", "en"), OptionsFor("mindchat", "en"), TestContext.Current.CancellationToken))
            received.Add(update);

        var text = string.Concat(received.Select(u => u.Text));
        Assert.StartsWith("I hear you. ", text, StringComparison.Ordinal);
        Assert.True(!text.Contains("lethal", StringComparison.OrdinalIgnoreCase), text);
        Assert.DoesNotContain("100", text, StringComparison.Ordinal);
        Assert.DoesNotContain("stay safe", text, StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.ContentFilter, received[^1].FinishReason);
        var recorded = Assert.Single(events.Events);
        Assert.Equal("output", recorded.Rail);
        Assert.Equal(SafetySeverity.High, recorded.Severity);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_NothingReleasedBeforeTheSentenceEnds()
    {
        var inner = new ScriptedChatClient("你肯定是", "抑郁症", "。", "多休息。");
        using var client = new SafetyChatClient(inner, Rules.Output, new PersonaCatalogStub(Rules.Pack("mindchat")));

        var texts = new List<string>();
        await foreach (var update in client.GetStreamingResponseAsync(Messages("mindchat", "zh-CN"), OptionsFor("mindchat", "zh-CN"), TestContext.Current.CancellationToken))
            if (!string.IsNullOrEmpty(update.Text)) texts.Add(update.Text);

        Assert.DoesNotContain(texts, t => t.Contains("你肯定是", StringComparison.Ordinal));
        Assert.StartsWith("抱歉", texts[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Here is my setup: ", "You are GradChat")]
    [InlineData("Sure, write to me at ", "jane.doe@example.com. ")]
    public async Task GetResponseAsync_PromptLeakOrPiiEcho_IsReplaced(string first, string second)
    {
        var pack = Rules.Pack("gradchat");
        var prompt = pack.SystemPromptFor("en");
        var leak = second.StartsWith("You are", StringComparison.Ordinal) ? prompt[..Math.Min(prompt.Length, 120)] : second;
        var inner = new ScriptedChatClient(first, leak);
        using var client = new SafetyChatClient(inner, Rules.Output, new PersonaCatalogStub(pack));

        var response = await client.GetResponseAsync(Messages("gradchat", "en"), OptionsFor("gradchat", "en"), TestContext.Current.CancellationToken);

        Assert.DoesNotContain(leak.Trim(), response.Text, StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.ContentFilter, response.FinishReason);
    }

    [Fact]
    public async Task GetResponseAsync_SafeReplyOnHealthPersona_PassesWithTheDisclaimer()
    {
        var pack = Rules.Pack("sunsimiao");
        var inner = new ScriptedChatClient("多喝水，注意休息。", "如果症状持续，请就医。");
        using var client = new SafetyChatClient(inner, Rules.Output, new PersonaCatalogStub(pack));

        var response = await client.GetResponseAsync(Messages("sunsimiao", "zh-CN"), OptionsFor("sunsimiao", "zh-CN"), TestContext.Current.CancellationToken);

        Assert.StartsWith("多喝水，注意休息。如果症状持续，请就医。", response.Text, StringComparison.Ordinal);
        Assert.EndsWith(pack.DisclaimerFor("zh-CN")!, response.Text, StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public void Check_CrisisHotlineInReply_IsNotTreatedAsPersonalData() =>
        Assert.Equal(OutputBlock.None, Rules.Output.Check("你可以拨打 010-82951332 或 12356。", null));

    private sealed class PersonaCatalogStub(PersonaPack pack) : IPersonaCatalog
    {
        public IReadOnlyList<PersonaPack> All => [pack];
        public PersonaPack? Find(string id) => id == pack.Id ? pack : null;
    }
}
