using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Data.Nodes;

/// <summary>
/// Leases on background jobs in the store, so that nodes sharing one database run a job (the retention purge, the
/// import of pack knowledge) once rather than each at the same time. A node takes a free or expired lease, or renews
/// its own, with one conditional update; a lease that nobody renews expires, so a node that died hands its jobs on.
/// On SQLite there is one node and it always gets the lease.
/// </summary>
public sealed class JobLeases(IDbContextFactory<ChatDbContext> contexts, TimeProvider time, string? holder = null)
{
    public const int MaxNameLength = 64;
    public const int MaxHolderLength = 128;

    /// <summary>This node, as lease rows name it: host, process and a random part, so a restarted process is a new holder.</summary>
    public string Holder { get; } = holder ?? NewHolder();

    /// <summary>
    /// Takes the lease on <paramref name="job"/> until <paramref name="duration"/> from now, or renews it when this
    /// node holds it already. False while another node holds an unexpired lease.
    /// </summary>
    public async Task<bool> TryTakeAsync(string job, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(job);
        if (job.Length > MaxNameLength)
            throw new ArgumentException($"The job name is longer than {MaxNameLength} characters.", nameof(job));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
        var now = time.GetUtcNow();
        var until = now + duration;
        var me = Holder;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        // The condition is checked by the database under the row's lock: of two nodes racing for an expired lease,
        // the second finds the first one's holder and expiry and updates nothing.
        var taken = await db.JobLeases
            .Where(l => l.Name == job && (l.Holder == me || l.ExpiresAt <= now))
            .ExecuteUpdateAsync(s => s
                .SetProperty(l => l.TakenAt, l => l.Holder == me ? l.TakenAt : now)
                .SetProperty(l => l.Holder, me)
                .SetProperty(l => l.ExpiresAt, until), cancellationToken);
        if (taken > 0)
            return true;
        db.JobLeases.Add(new JobLeaseRecord { Name = job, Holder = me, TakenAt = now, ExpiresAt = until });
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (DbUpdateException e) when (UniqueViolation.Is(e))
        {
            // The row exists and another node holds it (or created it a moment ago).
            return false;
        }
    }

    /// <summary>Gives the lease up, so another node need not wait for it to expire; nothing when this node does not hold it.</summary>
    public async Task ReleaseAsync(string job, CancellationToken cancellationToken)
    {
        var me = Holder;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await db.JobLeases.Where(l => l.Name == job && l.Holder == me).ExecuteDeleteAsync(cancellationToken);
    }

    /// <summary>The lease as the store has it now, or null when nobody holds one.</summary>
    public async Task<JobLeaseRecord?> FindAsync(string job, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.JobLeases.AsNoTracking().FirstOrDefaultAsync(l => l.Name == job, cancellationToken);
    }

    private static string NewHolder()
    {
        var name = $"{Environment.MachineName}/{Environment.ProcessId}/{RandomNumberGenerator.GetHexString(8, lowercase: true)}";
        return name.Length <= MaxHolderLength ? name : name[^MaxHolderLength..];
    }
}
