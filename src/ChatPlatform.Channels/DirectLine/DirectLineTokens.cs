using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.WebUtilities;

namespace ChatPlatform.Channels.DirectLine;

/// <summary>What a Direct Line token grants: one conversation, one user, one persona, until it expires.</summary>
public sealed record DirectLineGrant(
    [property: JsonPropertyName("conv")] string ConversationId,
    [property: JsonPropertyName("user")] string UserId,
    [property: JsonPropertyName("persona")] string Persona,
    [property: JsonPropertyName("locale")] string? Locale,
    [property: JsonPropertyName("exp")] long ExpiresAt);

public enum TokenCheck
{
    Valid,
    /// <summary>Not a token this server signed (malformed or forged).</summary>
    Invalid,
    Expired,
}

/// <summary>
/// Issues and checks Direct Line tokens: a JWT (HS256) whose claims name the conversation, the user and the
/// persona. Clients only read the <c>user</c> claim; the signature keeps them from changing any claim.
/// </summary>
public sealed class DirectLineTokens(byte[] key, TimeProvider time, TimeSpan lifetime)
{
    private static readonly string Header = Base64(Encoding.UTF8.GetBytes("""{"alg":"HS256","typ":"JWT"}"""));

    public TimeSpan Lifetime => lifetime;

    /// <summary>The signing key from configuration, or the one kept in the data folder (created on first use).</summary>
    public static byte[] LoadKey(DirectLineOptions options, string dataDirectory)
    {
        if (options.TokenSigningKey.Length > 0)
            return Encoding.UTF8.GetBytes(options.TokenSigningKey);
        var path = Path.Combine(Path.GetFullPath(dataDirectory), "directline-token.key");
        if (File.Exists(path))
            return Convert.FromBase64String(File.ReadAllText(path).Trim());
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var key = RandomNumberGenerator.GetBytes(32);
        try
        {
            using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
            file.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(key)));
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            return key;
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first: use that one.
            return Convert.FromBase64String(File.ReadAllText(path).Trim());
        }
    }

    public string Issue(string conversationId, string userId, string persona, string? locale)
    {
        var grant = new DirectLineGrant(conversationId, userId, persona, locale, time.GetUtcNow().Add(lifetime).ToUnixTimeSeconds());
        var payload = Base64(JsonSerializer.SerializeToUtf8Bytes(grant));
        return $"{Header}.{payload}.{Sign(Header + "." + payload)}";
    }

    public TokenCheck Check(string token, out DirectLineGrant? grant)
    {
        grant = null;
        var parts = token.Split('.');
        if (parts.Length != 3 || parts[0] != Header)
            return TokenCheck.Invalid;
        var expected = Encoding.ASCII.GetBytes(Sign(parts[0] + "." + parts[1]));
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(parts[2])))
            return TokenCheck.Invalid;
        try
        {
            grant = JsonSerializer.Deserialize<DirectLineGrant>(WebEncoders.Base64UrlDecode(parts[1]));
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return TokenCheck.Invalid;
        }
        if (grant is null || string.IsNullOrEmpty(grant.ConversationId) || string.IsNullOrEmpty(grant.UserId))
            return TokenCheck.Invalid;
        return time.GetUtcNow().ToUnixTimeSeconds() >= grant.ExpiresAt ? TokenCheck.Expired : TokenCheck.Valid;
    }

    private string Sign(string data) => Base64(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(data)));

    private static string Base64(byte[] bytes) => WebEncoders.Base64UrlEncode(bytes);
}
