using Microsoft.Extensions.Configuration;

namespace ChatPlatform.Admin.Operations;

/// <summary>A secret set in configuration, as the console shows it: its key and a masked value, never the value.</summary>
public sealed record ConfiguredSecret(string Key, string Masked);

/// <summary>Finds and masks the secrets in configuration (Direct Line, Slack, Bot Framework, the remote backend…).</summary>
public static class Secrets
{
    /// <summary>Key names (last segment, any case) that hold secrets.</summary>
    private static readonly string[] SecretWords = ["secret", "token", "password", "apikey", "key"];

    /// <summary>
    /// A masked form: only a fixed run of dots for short values, and the last four characters for long ones (at least
    /// 16 characters, so at most a quarter of the value shows), which is enough to tell two secrets apart.
    /// </summary>
    public static string Mask(string? secret) =>
        string.IsNullOrEmpty(secret) ? "(not set)"
        : secret.Length < 16 ? "••••••••"
        : "••••••••" + secret[^4..];

    /// <summary>Every non-empty configuration value under <c>ChatPlatform</c> whose key names a secret, masked, ordered by key.</summary>
    public static IReadOnlyList<ConfiguredSecret> Find(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return [.. configuration.GetSection("ChatPlatform").AsEnumerable()
            .Where(kv => !string.IsNullOrEmpty(kv.Value) && IsSecretKey(kv.Key))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new ConfiguredSecret(kv.Key, Mask(kv.Value)))];
    }

    public static bool IsSecretKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var last = key[(key.LastIndexOf(':') + 1)..].ToUpperInvariant();
        // A numbered entry of a list (ChatPlatform:DirectLine:Secrets:0) belongs to the list's name.
        if (int.TryParse(last, out _) && key.LastIndexOf(':') is > 0 and var end)
            last = key[(key.LastIndexOf(':', end - 1) + 1)..end].ToUpperInvariant();
        return SecretWords.Any(w => last.EndsWith(w.ToUpperInvariant(), StringComparison.Ordinal) || last.EndsWith(w.ToUpperInvariant() + "S", StringComparison.Ordinal));
    }
}
