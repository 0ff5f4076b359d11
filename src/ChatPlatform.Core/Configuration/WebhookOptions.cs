namespace ChatPlatform.Core.Configuration;

/// <summary>
/// The <c>ChatPlatform:Webhooks</c> section: where the server may post notices (the crisis notice of a persona's
/// <c>crisis.notifyWebhook</c>, a reviewer's escalation). A persona pack is edited by people who do not run the
/// server, so a webhook goes out only to a host listed here, and never to a loopback, link-local or private
/// address unless <see cref="AllowPrivateAddresses"/> says so.
/// </summary>
public sealed class WebhookOptions
{
    public const string SectionName = ChatPlatformOptions.SectionName + ":Webhooks";

    /// <summary>Host names (or IP literals) webhooks may be posted to, matched exactly and ignoring case; empty: webhooks are off.</summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>Allow loopback, link-local, private (RFC 1918, unique-local IPv6, CGNAT), unspecified and multicast addresses.</summary>
    public bool AllowPrivateAddresses { get; set; }

    /// <summary>Whether <paramref name="host"/> (a URL's host, IPv6 without brackets) is listed in <see cref="AllowedHosts"/>.</summary>
    public bool IsAllowedHost(string host)
    {
        var bare = host.Trim('[', ']');
        return AllowedHosts.Any(allowed => string.Equals(allowed.Trim().Trim('[', ']').TrimEnd('.'), bare.TrimEnd('.'), StringComparison.OrdinalIgnoreCase));
    }
}
