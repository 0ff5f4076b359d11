using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Privacy;
using ChatPlatform.Core.Safety;
using ChatPlatform.Safety.Events;
using ChatPlatform.Safety.Judge;
using ChatPlatform.Safety.Output;
using ChatPlatform.Safety.Pii;
using ChatPlatform.Safety.Rails;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChatPlatform.Safety;

public static class SafetyServiceCollectionExtensions
{
    /// <summary>
    /// Registers the input rails (<see cref="IInputSafety"/>), the output rails used by <c>UseSafety()</c>, the PII
    /// redactor (<see cref="ITextRedactor"/>) and the safety event sink, all loaded once from <paramref name="safetyDirectory"/>;
    /// and the <c>ChatPlatform:SafetyJudge</c> and <c>ChatPlatform:Webhooks</c> sections (<see cref="SafetySections"/>).
    /// </summary>
    public static IServiceCollection AddSafety(this IServiceCollection services, string safetyDirectory)
    {
        services.AddSingleton(_ => SafetyRules.Load(safetyDirectory));
        services.AddSingleton<InputRails>();
        services.AddSingleton<IInputSafety>(sp => sp.GetRequiredService<InputRails>());
        services.AddSingleton(sp => OutputRails.Load(sp.GetRequiredService<SafetyRules>(), safetyDirectory));
        services.AddSingleton<ITextRedactor>(PiiRedactor.Instance);
        services.AddHttpClient();
        services.AddSafetyOptions();
        services.TryAddSingleton(sp => new WebhookClient(sp.GetRequiredService<WebhookOptions>()));
        services.TryAddSingleton<ISafetyNotifier, SafetyWebhook>();
        services.TryAddSingleton<NotifyingSafetyEventSink>();
        services.TryAddSingleton<ISafetyEventSink>(sp => sp.GetRequiredService<NotifyingSafetyEventSink>());
        return services;
    }

    /// <summary>
    /// Puts a guard model in front as a second opinion (<see cref="JudgedInputSafety"/>). The guard's
    /// <see cref="Microsoft.Extensions.AI.IChatClient"/> must be registered under <see cref="JudgedInputSafety.JudgeClientKey"/>.
    /// </summary>
    public static IServiceCollection AddSafetyJudge(this IServiceCollection services)
    {
        services.AddSafetyOptions();
        services.AddSingleton(sp => new JudgedInputSafety(
            sp.GetRequiredService<InputRails>(),
            sp.GetRequiredKeyedService<Microsoft.Extensions.AI.IChatClient>(JudgedInputSafety.JudgeClientKey),
            sp.GetRequiredService<SafetyJudgeOptions>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<JudgedInputSafety>>()));
        services.Replace(ServiceDescriptor.Singleton<IInputSafety>(sp => sp.GetRequiredService<JudgedInputSafety>()));
        return services;
    }
}
