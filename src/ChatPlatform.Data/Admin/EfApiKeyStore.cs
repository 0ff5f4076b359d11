using ChatPlatform.Core.ApiKeys;
using ChatPlatform.Data.Audit;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Data.Admin;

/// <summary>
/// Keeps API keys in the <c>api_clients</c> table, so the server, the <c>chatplatform apikey</c> command and the
/// admin console share them (and several gateways on PostgreSQL do too). Creating and revoking are audited.
/// </summary>
public sealed class EfApiKeyStore(IDbContextFactory<ChatDbContext> contexts) : IApiKeyStore
{
    public async Task<IReadOnlyList<ApiKeyRecord>> ListAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var rows = await db.ApiClients.AsNoTracking().OrderBy(c => c.Id).ToListAsync(cancellationToken);
        return [.. rows.Select(ToRecord)];
    }

    public async Task<bool> AnyActiveAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.ApiClients.AnyAsync(c => c.RevokedAt == null, cancellationToken);
    }

    public async Task<ApiKeyRecord?> FindActiveAsync(string hash, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var row = await db.ApiClients.AsNoTracking().FirstOrDefaultAsync(c => c.KeyHash == hash && c.RevokedAt == null, cancellationToken);
        return row is null ? null : ToRecord(row);
    }

    public async Task<bool> AddAsync(ApiKeyRecord record, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        // Names compare without case; the table holds a handful of clients, so they are compared here.
        var names = await db.ApiClients.Select(c => c.Name).ToListAsync(cancellationToken);
        if (names.Any(n => string.Equals(n, record.Name, StringComparison.OrdinalIgnoreCase)))
            return false;
        db.ApiClients.Add(new ApiClientRecord
        {
            Name = record.Name,
            KeyPrefix = record.Prefix,
            KeyHash = record.Hash,
            CreatedAt = record.CreatedAt,
        });
        AuditLog.Add(db, record.CreatedAt, actor, "apikey.create", "apikey:" + record.Name, new { record.Prefix });
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (DbUpdateException)
        {
            // Another writer took the name between the check and the insert (unique index on the name).
            return false;
        }
    }

    public async Task<bool> RevokeAsync(string name, DateTimeOffset at, string actor, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var active = await db.ApiClients.Where(c => c.RevokedAt == null).ToListAsync(cancellationToken);
        var row = active.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));
        if (row is null)
            return false;
        row.RevokedAt = at;
        AuditLog.Add(db, at, actor, "apikey.revoke", "apikey:" + row.Name);
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    public async Task MarkUsedAsync(string name, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await db.ApiClients.Where(c => c.Name == name && (c.LastUsedAt == null || c.LastUsedAt < at))
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.LastUsedAt, at), cancellationToken);
    }

    private static ApiKeyRecord ToRecord(ApiClientRecord c) => new(c.Name, c.KeyPrefix, c.KeyHash, c.CreatedAt, c.RevokedAt, c.LastUsedAt);
}
