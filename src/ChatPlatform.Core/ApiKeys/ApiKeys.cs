using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace ChatPlatform.Core.ApiKeys;

/// <summary>
/// Issues, checks and revokes API keys; only their SHA-256 hashes are stored. The server's <c>/v1</c> check, the
/// <c>chatplatform apikey</c> command and the admin console all go through this one class.
/// </summary>
public sealed class ApiKeys(IApiKeyStore store, TimeProvider time)
{
    public const string Prefix = "cpk-";
    public const int MaxNameLength = 64;

    /// <summary>Characters of a key kept in clear (the prefix plus eight), enough to tell keys apart.</summary>
    public const int ShownLength = 12;

    /// <summary>A key's last use is written at most this often, so a busy client does not write on every request.</summary>
    public static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastMarked = new(StringComparer.Ordinal);

    /// <summary>Creates a key for <paramref name="name"/> and returns it; it cannot be shown again.</summary>
    public async Task<string> CreateAsync(string name, string actor, CancellationToken cancellationToken)
    {
        if (NameProblem(name) is { } problem)
            throw new ArgumentException(problem, nameof(name));
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        var key = Prefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        if (!await store.AddAsync(new ApiKeyRecord(name, key[..ShownLength], Hash(key), time.GetUtcNow()), actor, cancellationToken))
            throw new InvalidOperationException($"An API key named '{name}' exists already (revoked keys keep their name); choose another name.");
        return key;
    }

    /// <summary>Revokes the key; false when no key of that name is active.</summary>
    public Task<bool> RevokeAsync(string name, string actor, CancellationToken cancellationToken) =>
        store.RevokeAsync(name, time.GetUtcNow(), actor, cancellationToken);

    public Task<IReadOnlyList<ApiKeyRecord>> ListAsync(CancellationToken cancellationToken) => store.ListAsync(cancellationToken);

    public Task<bool> AnyActiveAsync(CancellationToken cancellationToken) => store.AnyActiveAsync(cancellationToken);

    /// <summary>
    /// The record of the presented key, or null when it is unknown or revoked. A match records the key's last use,
    /// at most once per <see cref="LastUsedResolution"/>.
    /// </summary>
    public async Task<ApiKeyRecord?> FindAsync(string presented, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(presented);
        // Keys are looked up by their hash: a near miss says nothing, since close hashes come from unrelated keys.
        if (await store.FindActiveAsync(Hash(presented), cancellationToken) is not { } record)
            return null;
        var now = time.GetUtcNow();
        var last = _lastMarked.TryGetValue(record.Name, out var marked) ? marked : record.LastUsedAt ?? DateTimeOffset.MinValue;
        if (now - last >= LastUsedResolution)
        {
            _lastMarked[record.Name] = now;
            await store.MarkUsedAsync(record.Name, now, cancellationToken);
        }
        return record;
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
