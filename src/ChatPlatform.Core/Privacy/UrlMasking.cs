namespace ChatPlatform.Core.Privacy;

/// <summary>
/// A URL as a log or an error may show it: the user name and password, and the values of query parameters that carry
/// credentials (<c>key</c>, <c>api_key</c>, <c>token</c>, <c>password</c>, <c>secret</c>, <c>sig</c> and the like), become <c>***</c>;
/// the fragment is dropped.
/// </summary>
public static class UrlMasking
{
    public const string Mask = "***";

    private static readonly string[] SecretNameParts = ["key", "token", "secret", "password", "passwd", "pwd", "sig", "auth", "credential", "session", "code"];

    public static string Apply(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri) return Mask;
        var userInfo = url.UserInfo.Length > 0 ? Mask + "@" : "";
        // Authority is host and port without the user information.
        return $"{url.Scheme}://{userInfo}{url.Authority}{url.AbsolutePath}{MaskQuery(url.Query)}";
    }

    /// <summary>Whether a query parameter of this name carries a credential.</summary>
    public static bool IsSecretParameter(string name)
    {
        var lower = name.ToLowerInvariant();
        return SecretNameParts.Any(part => lower.Contains(part, StringComparison.Ordinal));
    }

    private static string MaskQuery(string query)
    {
        if (query.Length <= 1) return "";
        var parts = query[1..].Split('&');
        for (var i = 0; i < parts.Length; i++)
        {
            var equals = parts[i].IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(equals < 0 ? parts[i] : parts[i][..equals]);
            if (IsSecretParameter(name))
                parts[i] = (equals < 0 ? parts[i] : parts[i][..equals]) + "=" + Mask;
        }
        return "?" + string.Join('&', parts);
    }
}
