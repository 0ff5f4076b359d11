using System.Net;
using ChatPlatform.Core.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPlatform.Safety;

/// <summary>
/// The sections the safety rails own, <c>ChatPlatform:SafetyJudge</c> and <c>ChatPlatform:Webhooks</c>, with the
/// rules the server and the <c>chatplatform</c> command both check.
/// </summary>
public static class SafetySections
{
    /// <summary>The guard model: a known backend, and what that backend needs.</summary>
    public static SectionValidator<SafetyJudgeOptions> SafetyJudge { get; } = new(SafetyJudgeOptions.SectionName, static (judge, section, errors) =>
    {
        if (judge.Backend is not { } backend || !(backend.Equals("off", StringComparison.OrdinalIgnoreCase)
            || backend.Equals("local", StringComparison.OrdinalIgnoreCase) || judge.IsRemote))
        {
            errors.Add($"{section}:Backend is invalid (got '{judge.Backend}'): it must be 'off', 'local' or 'remote'");
            return;
        }
        if (!judge.IsEnabled) return;
        if (judge.IsRemote)
        {
            if (!SectionOptions.IsHttpUrl(judge.Remote.BaseUrl))
                errors.Add($"{section}:Remote:BaseUrl is invalid (got '{judge.Remote.BaseUrl}'): with {section}:Backend = remote it must be the absolute http:// or https:// URL of an OpenAI-compatible server");
            if (string.IsNullOrWhiteSpace(judge.Remote.Model))
                errors.Add($"{section}:Remote:Model is empty: name the guard model the server should use");
        }
        else if (string.IsNullOrWhiteSpace(judge.ModelPath))
            errors.Add($"{section}:ModelPath is empty: with {section}:Backend = local it must name the guard model's GGUF file");
        else
            SectionOptions.FileMustExist(judge.ModelPath, section + ":ModelPath", errors);
    });

    /// <summary>The hosts notices may be posted to: bare host names or IP literals.</summary>
    public static SectionValidator<WebhookOptions> Webhooks { get; } = new(WebhookOptions.SectionName, static (webhooks, section, errors) =>
    {
        for (var i = 0; i < webhooks.AllowedHosts.Count; i++)
        {
            var host = webhooks.AllowedHosts[i]?.Trim() ?? "";
            var bare = host.Trim('[', ']');
            if (bare.Length == 0 || (!IPAddress.TryParse(bare, out _) && Uri.CheckHostName(bare) != UriHostNameType.Dns))
                errors.Add($"{section}:AllowedHosts:{i} is invalid (got '{host}'): it must be a host name such as oncall.example.org, without scheme, port or path");
        }
    });

    /// <summary>Registers <see cref="SafetyJudgeOptions"/> and <see cref="WebhookOptions"/> bound to their sections and checked when the host starts.</summary>
    public static IServiceCollection AddSafetyOptions(this IServiceCollection services)
    {
        services.AddSectionOptions(SafetyJudge);
        services.AddSectionOptions(Webhooks);
        return services;
    }
}
