using System.Security.Cryptography;
using System.Text;
using ChatPlatform.Core.Chat;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Data.Channels;

/// <summary>
/// Which channel deliveries have been taken in, kept in the store rather than in a node's memory: a channel that
/// retries (Slack after three seconds, a Bot Framework connector after a timeout) may reach another node behind the
/// load balancer, and the message must still be answered once. Rows older than <see cref="KeepFor"/> are purged
/// by the retention job.
/// </summary>
public sealed class DeliveryLog(IDbContextFactory<ChatDbContext> contexts, TimeProvider time) : IDeliveryLog
{
    /// <summary>How long an id is remembered: channels retry within minutes, so a day leaves a wide margin.</summary>
    public static readonly TimeSpan KeepFor = TimeSpan.FromDays(1);

    public const int MaxChannelLength = 32;
    public const int MaxIdLength = 128;

    /// <summary>
    /// Records a delivery; true the first time it is seen by any node, false for a repeat. The unique key decides
    /// when two nodes record the same delivery at once.
    /// </summary>
    public async Task<bool> TryRecordAsync(string channel, string deliveryId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentException.ThrowIfNullOrEmpty(deliveryId);
        if (channel.Length > MaxChannelLength)
            throw new ArgumentException($"The channel name is longer than {MaxChannelLength} characters.", nameof(channel));
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        db.Deliveries.Add(new DeliveryRecord { Channel = channel, DeliveryId = Key(deliveryId), ReceivedAt = time.GetUtcNow() });
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (DbUpdateException e) when (UniqueViolation.Is(e))
        {
            return false;
        }
    }

    /// <summary>
    /// Forgets a delivery this node recorded but could not take in after all (its queue was full), so that the
    /// channel's retry is taken in by whichever node it reaches instead of being dropped as a repeat.
    /// </summary>
    public async Task ForgetAsync(string channel, string deliveryId, CancellationToken cancellationToken)
    {
        var key = Key(deliveryId);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await db.Deliveries.Where(d => d.Channel == channel && d.DeliveryId == key).ExecuteDeleteAsync(cancellationToken);
    }

    /// <summary>Deletes the ids recorded before <see cref="KeepFor"/>; returns how many.</summary>
    public async Task<int> PurgeAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var cutoff = now - KeepFor;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Deliveries.Where(d => d.ReceivedAt < cutoff).ExecuteDeleteAsync(cancellationToken);
    }

    /// <summary>The id as stored: itself when it fits, otherwise its SHA-256 (Teams conversation ids alone can exceed the column).</summary>
    public static string Key(string deliveryId)
    {
        ArgumentNullException.ThrowIfNull(deliveryId);
        return deliveryId.Length <= MaxIdLength && !deliveryId.Any(char.IsControl)
            ? deliveryId
            : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(deliveryId)));
    }
}
