using System.Runtime.CompilerServices;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using ChatPlatform.Safety.Judge;
using ChatPlatform.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace ChatPlatform.Safety.Tests;

public sealed class JudgedInputSafetyTests
{
    // An ordinary message the rules let through; each test decides what the judge thinks of it.
    private const string Quiet = "Can you help me plan my revision for next week?";

    private static JudgedInputSafety Judged(IChatClient judge, int timeoutMs = 2000) =>
        new(Rules.Input, judge, new SafetyJudgeOptions { Backend = "remote", TimeoutMilliseconds = timeoutMs }, NullLogger<JudgedInputSafety>.Instance);

    [Fact]
    public async Task CheckAsync_JudgeSeesSelfHarm_StartsCrisisProtocol()
    {
        Assert.Equal(InputAction.Allow, Rules.Input.Check(Rules.Pack("gradchat"), Quiet, "en").Action);
        var judge = new ScriptedChatClient("Safety: Unsafe\n", "Categories: Suicide & Self-Harm");

        var verdict = await Judged(judge).CheckAsync(Rules.Pack("gradchat"), Quiet, "en", TestContext.Current.CancellationToken);

        Assert.Equal(InputAction.Crisis, verdict.Action);
        Assert.Equal(SafetyRails.Crisis, verdict.Rail);
        Assert.Contains("988", verdict.Reply, StringComparison.Ordinal);
        Assert.Equal(Quiet, Assert.Single(judge.Calls).Messages.Single().Text);
    }

    [Fact]
    public async Task CheckAsync_JudgeSeesJailbreak_RefusesOnlyWhereInjectionRailIsOn()
    {
        var judge = new ScriptedChatClient("Safety: Unsafe\nCategories: Jailbreak");
        var withRail = Rules.Pack("gradchat");
        var withoutRail = withRail with { Safety = withRail.Safety with { Rails = [.. withRail.Safety.Rails.Where(r => r != SafetyRails.Injection)] } };

        var refused = await Judged(judge).CheckAsync(withRail, Quiet, "en", TestContext.Current.CancellationToken);
        var allowed = await Judged(judge).CheckAsync(withoutRail, Quiet, "en", TestContext.Current.CancellationToken);

        Assert.Equal(InputAction.Refuse, refused.Action);
        Assert.Equal(InputAction.Allow, allowed.Action);
    }

    [Fact]
    public async Task CheckAsync_RulesAlreadyDecided_DoesNotAskTheJudge()
    {
        var judge = new ScriptedChatClient("Safety: Safe");

        var verdict = await Judged(judge).CheckAsync(Rules.Pack("mindchat"), "我不想活了", "zh-CN", TestContext.Current.CancellationToken);

        Assert.Equal(InputAction.Crisis, verdict.Action);
        Assert.Empty(judge.Calls);
    }

    [Fact]
    public async Task CheckAsync_JudgeSaysSafe_CannotOverruleNorChangeTheText()
    {
        var judge = new ScriptedChatClient("Safety: Safe\nCategories: None");
        const string withPhone = "Call me on 13812345678 about the interview.";

        var verdict = await Judged(judge).CheckAsync(Rules.Pack("gradchat"), withPhone, "en", TestContext.Current.CancellationToken);

        Assert.Equal(InputAction.Allow, verdict.Action);
        // The judge only ever sees the redacted text.
        Assert.DoesNotContain("13812345678", judge.Calls.Single().Messages.Single().Text, StringComparison.Ordinal);
        Assert.DoesNotContain("13812345678", verdict.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckAsync_JudgeTooSlow_RulesVerdictStands()
    {
        var verdict = await Judged(new HangingChatClient(), timeoutMs: 100)
            .CheckAsync(Rules.Pack("gradchat"), Quiet, "en", TestContext.Current.CancellationToken);

        Assert.Equal(InputAction.Allow, verdict.Action);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CheckAsync_JudgeFailsOrRambles_RulesVerdictStands(bool fail)
    {
        var judge = new ScriptedChatClient("The weather is nice today.");
        if (fail) judge.FailWith = new HttpRequestException("connection refused");

        var verdict = await Judged(judge).CheckAsync(Rules.Pack("gradchat"), Quiet, "en", TestContext.Current.CancellationToken);

        Assert.Equal(InputAction.Allow, verdict.Action);
    }

    [Fact]
    public async Task CheckAsync_CallerCancels_Throws()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await Judged(new HangingChatClient()).CheckAsync(Rules.Pack("gradchat"), Quiet, "en", cancelled.Token));
    }

    private sealed class HangingChatClient : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
            [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            yield break;
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
