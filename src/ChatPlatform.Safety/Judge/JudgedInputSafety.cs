using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using ChatPlatform.Safety.Rails;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Safety.Judge;

/// <summary>
/// The input rails with a guard model as a second opinion. The rules decide first; only a message they let through
/// goes to the judge (already redacted), and the judge can only add protection: a self-harm opinion starts the crisis
/// protocol, a jailbreak opinion refuses where the pack enables the injection rail, any other unsafe opinion refuses
/// where the pack enables the harmful-request rail. A judge that is slow, fails or
/// answers in an unknown format leaves the rules' verdict standing, so the rails never depend on it.
/// </summary>
public sealed partial class JudgedInputSafety(
    InputRails rails,
    IChatClient judge,
    SafetyJudgeOptions options,
    ILogger<JudgedInputSafety> logger) : IInputSafety
{
    /// <summary>Service key of the guard model's <see cref="IChatClient"/>.</summary>
    public const string JudgeClientKey = "chatplatform.safety-judge";

    private static readonly ChatOptions JudgeChatOptions = new() { Temperature = 0f, TopK = 1, Seed = 0, MaxOutputTokens = 24 };

    public InputVerdict Check(PersonaPack pack, string text, string locale) => rails.Check(pack, text, locale);

    public string CrisisReminderFor(PersonaPack pack, string locale) => rails.CrisisReminderFor(pack, locale);

    public string SharedCrisisReplyFor(string locale) => rails.SharedCrisisReplyFor(locale);

    public string RedactForStorage(PersonaPack pack, string text) => rails.RedactForStorage(pack, text);

    public async ValueTask<InputVerdict> CheckAsync(PersonaPack pack, string text, string locale, CancellationToken cancellationToken)
    {
        var verdict = rails.Check(pack, text, locale);
        if (verdict.Action != InputAction.Allow) return verdict;

        var opinion = await AskAsync(verdict.Text, cancellationToken);
        if (opinion is null || !opinion.Unsafe && !opinion.SelfHarm) return verdict;
        if (opinion.SelfHarm)
        {
            LogJudgeRaised(logger, pack.Id, SafetyRails.Crisis);
            return rails.CrisisVerdict(pack, verdict.Text, locale, 1.0);
        }
        if (opinion.Jailbreak && pack.Safety.Rails.Contains(SafetyRails.Injection))
        {
            LogJudgeRaised(logger, pack.Id, SafetyRails.Injection);
            return rails.InjectionVerdict(pack, verdict.Text, locale, 1.0);
        }
        if (opinion.Unsafe && !opinion.Jailbreak && pack.Safety.Rails.Contains(SafetyRails.Harmful))
        {
            LogJudgeRaised(logger, pack.Id, SafetyRails.Harmful);
            return rails.HarmfulVerdict(pack, verdict.Text, locale, 1.0);
        }
        return verdict;
    }

    /// <summary>The judge's opinion on <paramref name="text"/>; null when it had none in time.</summary>
    public async Task<GuardOpinion?> AskAsync(string text, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.TimeoutMilliseconds);
        try
        {
            var response = await judge.GetResponseAsync([new ChatMessage(ChatRole.User, text)], JudgeChatOptions.Clone(), timeout.Token);
            var opinion = GuardOpinion.Parse(response.Text);
            if (opinion is null) LogUnreadable(logger);
            return opinion;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogTimedOut(logger, options.TimeoutMilliseconds);
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFailed(logger, e.GetType().Name);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The safety judge raised the {Rail} rail for persona {Persona}")]
    private static partial void LogJudgeRaised(ILogger logger, string persona, string rail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The safety judge gave no answer within {Milliseconds} ms; the rules' verdict stands")]
    private static partial void LogTimedOut(ILogger logger, int milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The safety judge failed ({Error}); the rules' verdict stands")]
    private static partial void LogFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The safety judge answered in neither the Qwen3Guard nor the Llama Guard format; the rules' verdict stands")]
    private static partial void LogUnreadable(ILogger logger);
}
