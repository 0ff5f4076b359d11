using System.Collections.Concurrent;

namespace ChatPlatform.Data.Admin;

/// <summary>
/// How long sign-in waits after failures, the same rule for an account and for a client address: the first
/// <c>threshold - 1</c> failures cost nothing, then each further failure doubles the wait, starting at
/// <see cref="FirstDelay"/> and never longer than <see cref="MaxDelay"/>. Attempts during the wait are refused without
/// being counted, so nobody can stretch the wait, and the right password after it still signs in.
/// </summary>
public static class SignInBackoff
{
    /// <summary>The wait after the failure that reaches the threshold.</summary>
    public static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between two attempts.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(5);

    /// <summary>The wait that follows the <paramref name="failures"/>-th failure in a row.</summary>
    public static TimeSpan Delay(int failures, int threshold)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threshold, 1);
        if (failures < threshold) return TimeSpan.Zero;
        var doublings = Math.Min(failures - threshold, 30);
        var delay = FirstDelay * Math.Pow(2, doublings);
        return delay < MaxDelay ? delay : MaxDelay;
    }
}

/// <summary>
/// Failed sign-ins per client address, held in memory: each server node counts the attempts it sees (with several
/// nodes behind a balancer an address gets this allowance on each node). The count is forgotten after
/// <see cref="ForgetAfter"/> without a failure.
/// </summary>
public sealed class AddressThrottle(TimeProvider time, int threshold = AddressThrottle.DefaultThreshold)
{
    /// <summary>Failures from one address, whatever the names tried, before it has to wait.</summary>
    public const int DefaultThreshold = 10;

    /// <summary>An address without a failure for this long starts again from nothing.</summary>
    public static readonly TimeSpan ForgetAfter = TimeSpan.FromMinutes(15);

    private const int PruneAbove = 10_000;

    private sealed record Entry(int Failures, DateTimeOffset LastFailure, DateTimeOffset NotBefore);

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public int Threshold { get; } = threshold >= 1 ? threshold : throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be at least 1.");

    /// <summary>True while <paramref name="address"/> must wait before its next attempt.</summary>
    public bool MustWait(string address)
    {
        var now = time.GetUtcNow();
        return _entries.TryGetValue(address, out var entry) && entry.NotBefore > now;
    }

    /// <summary>Counts a failed attempt from <paramref name="address"/>.</summary>
    public void Fail(string address)
    {
        var now = time.GetUtcNow();
        if (_entries.Count > PruneAbove) Prune(now);
        _entries.AddOrUpdate(address,
            _ => Next(0, now),
            (_, old) => Next(now - old.LastFailure >= ForgetAfter ? 0 : old.Failures, now));
    }

    private Entry Next(int failures, DateTimeOffset now) =>
        new(failures + 1, now, now + SignInBackoff.Delay(failures + 1, Threshold));

    private void Prune(DateTimeOffset now)
    {
        foreach (var (address, entry) in _entries)
            if (now - entry.LastFailure >= ForgetAfter && entry.NotBefore <= now)
                _entries.TryRemove(new KeyValuePair<string, Entry>(address, entry));
    }
}
