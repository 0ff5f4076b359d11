namespace ChatPlatform.Core.ApiKeys;

/// <summary>
/// An issued API key as kept at rest: its name, its first characters (so operators can tell keys apart) and the
/// SHA-256 of the key, never the key itself. A revoked key keeps its row (and its name) for the record.
/// </summary>
public sealed record ApiKeyRecord(
    string Name,
    string Prefix,
    string Hash,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt = null,
    DateTimeOffset? LastUsedAt = null)
{
    public bool Revoked => RevokedAt is not null;
}

/// <summary>Where API keys for the OpenAI-compatible API are kept (the database's <c>api_clients</c> table).</summary>
public interface IApiKeyStore
{
    /// <summary>Every key, revoked ones included, oldest first.</summary>
    Task<IReadOnlyList<ApiKeyRecord>> ListAsync(CancellationToken cancellationToken);

    /// <summary>True when at least one key is not revoked.</summary>
    Task<bool> AnyActiveAsync(CancellationToken cancellationToken);

    /// <summary>The key that is not revoked and has this hash, or null.</summary>
    Task<ApiKeyRecord?> FindActiveAsync(string hash, CancellationToken cancellationToken);

    /// <summary>Adds a key and audits it as done by <paramref name="actor"/>; false when a key with this name exists already (revoked or not).</summary>
    Task<bool> AddAsync(ApiKeyRecord record, string actor, CancellationToken cancellationToken);

    /// <summary>Revokes the key with this name and audits it; false when there is no such key that is not revoked.</summary>
    Task<bool> RevokeAsync(string name, DateTimeOffset at, string actor, CancellationToken cancellationToken);

    /// <summary>Records that the key was used at <paramref name="at"/>.</summary>
    Task MarkUsedAsync(string name, DateTimeOffset at, CancellationToken cancellationToken);
}
