using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ChatPlatform.Channels.Slack;

/// <summary>Slack's request signing (v0): HMAC-SHA256 over <c>v0:timestamp:body</c>, within a 300-second window.</summary>
public static class SlackSignature
{
    public static readonly TimeSpan ReplayWindow = TimeSpan.FromSeconds(300);

    public static string Compute(string signingSecret, string timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes($"v0:{timestamp}:");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return "v0=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(signingSecret), message));
    }

    /// <summary>Null when the request is genuine and fresh, otherwise why it is not.</summary>
    public static string? Check(string signingSecret, string? timestamp, string? signature, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(signature))
            return "missing X-Slack-Request-Timestamp or X-Slack-Signature";
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            return "X-Slack-Request-Timestamp is not a Unix time";
        if (Math.Abs(now.ToUnixTimeSeconds() - seconds) > ReplayWindow.TotalSeconds)
            return "the request timestamp is outside the 300-second window";
        var expected = Encoding.ASCII.GetBytes(Compute(signingSecret, timestamp, body));
        var presented = Encoding.ASCII.GetBytes(signature);
        return CryptographicOperations.FixedTimeEquals(expected, presented) ? null : "the signature does not match";
    }
}
