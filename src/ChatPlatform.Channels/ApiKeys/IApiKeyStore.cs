namespace ChatPlatform.Channels.ApiKeys;

/// <summary>An issued API key as kept at rest: its name and the SHA-256 of the key, never the key itself.</summary>
public sealed record ApiKeyRecord(string Name, string Hash, DateTimeOffset CreatedAt);

/// <summary>Where API keys for the OpenAI-compatible API are kept.</summary>
public interface IApiKeyStore
{
    Task<IReadOnlyList<ApiKeyRecord>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Adds a key; false when a key with this name exists already.</summary>
    Task<bool> AddAsync(ApiKeyRecord record, CancellationToken cancellationToken);

    /// <summary>Removes the key with this name; false when there is none.</summary>
    Task<bool> RemoveAsync(string name, CancellationToken cancellationToken);
}
