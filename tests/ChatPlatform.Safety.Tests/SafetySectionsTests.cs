using ChatPlatform.Core.Configuration;
using ChatPlatform.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Xunit;

namespace ChatPlatform.Safety.Tests;

/// <summary><c>AddSafety</c> binds and checks the SafetyJudge and Webhooks sections.</summary>
public sealed class SafetySectionsTests
{
    [Fact]
    public void AddSafety_Settings_BoundToTheSectionsOptions()
    {
        using var host = Build(new()
        {
            ["ChatPlatform:Webhooks:AllowedHosts:0"] = "oncall.example.org",
            ["ChatPlatform:SafetyJudge:TimeoutMilliseconds"] = "500",
        });

        var webhooks = host.Services.GetRequiredService<WebhookOptions>();
        Assert.Same(host.Services.GetRequiredService<IOptions<WebhookOptions>>().Value, webhooks);
        Assert.True(webhooks.IsAllowedHost("oncall.example.org"));
        Assert.Equal(500, host.Services.GetRequiredService<SafetyJudgeOptions>().TimeoutMilliseconds);
    }

    [Theory]
    [InlineData("ChatPlatform:SafetyJudge:Backend", "cloud")]
    [InlineData("ChatPlatform:SafetyJudge:TimeoutMilliseconds", "10")]
    [InlineData("ChatPlatform:SafetyJudge:Backend", "local", "ChatPlatform:SafetyJudge:ModelPath")]
    [InlineData("ChatPlatform:Webhooks:AllowedHosts:0", "https://oncall.example.org/hook")]
    public async Task AddSafety_BadValue_StartFailsNamingTheKey(string key, string value, string? named = null)
    {
        using var host = Build(new() { [key] = value });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains(named ?? key, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", error.Message, StringComparison.Ordinal);
    }

    private static IHost Build(Dictionary<string, string?> settings) =>
        SectionsHost.Build(settings, builder => builder.Services.AddSafety(RepoPaths.Safety));
}
