using System.Text.Json;

namespace ChatPlatform.Channels.ApiKeys;

/// <summary>
/// Keeps API key hashes in one JSON file (<c>data/api-keys.json</c>). The file is read again when it changes,
/// so keys created or revoked with the <c>chatplatform</c> command take effect in a running server.
/// </summary>
public sealed class FileApiKeyStore(string path) : IApiKeyStore, IDisposable
{
    public const string FileName = "api-keys.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IReadOnlyList<ApiKeyRecord> _cached = [];
    private DateTime _cachedStamp = DateTime.MinValue;
    private long _cachedLength = -1;

    public string Path { get; } = path;

    public static FileApiKeyStore InDataDirectory(string dataDirectory) =>
        new(System.IO.Path.Combine(System.IO.Path.GetFullPath(dataDirectory), FileName));

    public async Task<IReadOnlyList<ApiKeyRecord>> ListAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await ReadAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<bool> AddAsync(ApiKeyRecord record, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var records = await ReadAsync(cancellationToken);
            if (records.Any(r => string.Equals(r.Name, record.Name, StringComparison.OrdinalIgnoreCase)))
                return false;
            await WriteAsync([.. records, record], cancellationToken);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<bool> RemoveAsync(string name, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var records = await ReadAsync(cancellationToken);
            var kept = records.Where(r => !string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase)).ToList();
            if (kept.Count == records.Count)
                return false;
            await WriteAsync(kept, cancellationToken);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<IReadOnlyList<ApiKeyRecord>> ReadAsync(CancellationToken cancellationToken)
    {
        var info = new FileInfo(Path);
        if (!info.Exists)
        {
            _cached = [];
            _cachedStamp = DateTime.MinValue;
            _cachedLength = -1;
            return _cached;
        }
        if (info.LastWriteTimeUtc == _cachedStamp && info.Length == _cachedLength)
            return _cached;

        await using var stream = File.OpenRead(Path);
        List<ApiKeyRecord>? records;
        try
        {
            records = await JsonSerializer.DeserializeAsync<List<ApiKeyRecord>>(stream, Json, cancellationToken);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{Path}: the API key file is not valid JSON ({e.Message}).", e);
        }
        _cached = records ?? [];
        _cachedStamp = info.LastWriteTimeUtc;
        _cachedLength = info.Length;
        return _cached;
    }

    public void Dispose() => _gate.Dispose();

    private async Task WriteAsync(IReadOnlyList<ApiKeyRecord> records, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var temporary = Path + ".tmp";
        await using (var stream = File.Create(temporary))
            await JsonSerializer.SerializeAsync(stream, records, Json, cancellationToken);
        File.Move(temporary, Path, overwrite: true);
        _cachedStamp = DateTime.MinValue;
        _cachedLength = -1;
    }
}
