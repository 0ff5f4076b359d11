using System.Threading.RateLimiting;

namespace ChatPlatform.Channels.BotFramework;

/// <summary>
/// A per-user limit on bot messages. Bot Framework traffic all arrives from the channel service's addresses, so the
/// per-IP limit of the other endpoints cannot tell users apart; this one counts per channel user instead.
/// </summary>
public sealed class BotUserRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string>? _limiter;

    public BotUserRateLimiter(BotFrameworkOptions options)
    {
        if (options.UserMessagesPerMinute > 0)
            _limiter = PartitionedRateLimiter.Create<string, string>(user => RateLimitPartition.GetFixedWindowLimiter(user, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = options.UserMessagesPerMinute,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
            }));
    }

    /// <summary>Null when the user may send; otherwise how long to wait.</summary>
    public TimeSpan? TryAcquire(string user)
    {
        if (_limiter is null)
            return null;
        using var lease = _limiter.AttemptAcquire(user);
        if (lease.IsAcquired)
            return null;
        return lease.TryGetMetadata(MetadataName.RetryAfter, out var retry) ? retry : TimeSpan.FromMinutes(1);
    }

    public void Dispose() => _limiter?.Dispose();
}
