using ChatPlatform.Core.Configuration;
using Microsoft.Extensions.Configuration;

namespace ChatPlatform.Cli;

/// <summary>The same <c>ChatPlatform</c> settings the server reads: <c>appsettings.json</c> in the working folder, then environment variables.</summary>
internal static class CliSettings
{
    public static ChatPlatformOptions Load()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .Build();
        return configuration.GetSection(ChatPlatformOptions.SectionName).Get<ChatPlatformOptions>() ?? new ChatPlatformOptions();
    }

    public static void ThrowIfInvalid(ChatPlatformOptions options)
    {
        var errors = options.Validate();
        if (errors.Count > 0) throw new CliException(string.Join(Environment.NewLine, errors));
    }
}
