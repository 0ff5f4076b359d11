using System.Text.Json;

namespace ChatPlatform.Data.Audit;

/// <summary>Adds audit entries to a context, so they are saved in the same transaction as the change they describe.</summary>
public static class AuditLog
{
    /// <summary>Queues an entry; <paramref name="details"/> (non-identifying facts) is stored as JSON.</summary>
    public static void Add(ChatDbContext db, DateTimeOffset at, string actor, string action, string target, object? details = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        db.AuditLog.Add(new AuditEntry
        {
            At = at,
            Actor = actor,
            Action = action,
            Target = target,
            Details = details is null ? null : JsonSerializer.Serialize(details),
        });
    }
}
