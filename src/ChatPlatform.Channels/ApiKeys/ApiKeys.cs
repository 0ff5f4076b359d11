using System.Security.Cryptography;
using System.Text;

namespace ChatPlatform.Channels.ApiKeys;

/// <summary>Issues, checks and revokes API keys; only their SHA-256 hashes are stored.</summary>
public sealed class ApiKeys(IApiKeyStore store, TimeProvider time)
{
    public const string Prefix = "cpk-";
    public const int MaxNameLength = 64;

    /// <summary>Creates a key for <paramref name="name"/> and returns it; it cannot be shown again.</summary>
    public async Task<string> CreateAsync(string name, CancellationToken cancellationToken)
    {
        if (NameProblem(name) is { } problem)
            throw new ArgumentException(problem, nameof(name));
        var key = Prefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        if (!await store.AddAsync(new ApiKeyRecord(name, Hash(key), time.GetUtcNow()), cancellationToken))
            throw new InvalidOperationException($"An API key named '{name}' exists already; revoke it first or choose another name.");
        return key;
    }

    public Task<bool> RevokeAsync(string name, CancellationToken cancellationToken) => store.RemoveAsync(name, cancellationToken);

    public Task<IReadOnlyList<ApiKeyRecord>> ListAsync(CancellationToken cancellationToken) => store.ListAsync(cancellationToken);

    /// <summary>The record of the presented key, or null when it is unknown or revoked.</summary>
    public async Task<ApiKeyRecord?> FindAsync(string presented, CancellationToken cancellationToken)
    {
        var hash = Convert.FromHexString(Hash(presented));
        ApiKeyRecord? match = null;
        foreach (var record in await store.ListAsync(cancellationToken))
        {
            // Compare every record in constant time, so timing says nothing about which hash came close.
            if (record.Hash.Length == hash.Length * 2 && CryptographicOperations.FixedTimeEquals(hash, Convert.FromHexString(record.Hash)))
                match = record;
        }
        return match;
    }

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public static string? NameProblem(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
            return "The key name is empty.";
        if (name.Length > MaxNameLength || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            return $"The key name '{name}' must be 1 to {MaxNameLength} letters, digits, '-', '_' or '.'.";
        return null;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
