namespace ChatPlatform.Core.Chat;

/// <summary>
/// The turns in progress, so a stopping server can let them finish: once <see cref="DrainAsync"/> starts, new turns are
/// refused (<see cref="ShuttingDown"/>) and it waits until the running ones have ended or the limit has passed.
/// </summary>
public sealed class ChatDrain
{
    /// <summary>What a turn that arrives while the server is stopping is told; channels answer it as "busy", HTTP with 503.</summary>
    public static readonly ChatError ShuttingDown = new(ChatErrorKind.Unavailable, "shutting_down",
        "The server is restarting. Please try again in a few seconds.");

    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _active;
    private volatile bool _draining;

    public bool Draining => _draining;

    /// <summary>Turns started and not yet ended.</summary>
    public int Active => Volatile.Read(ref _active);

    /// <summary>Counts a turn until the returned handle is disposed.</summary>
    public IDisposable Enter()
    {
        Interlocked.Increment(ref _active);
        return new Turn(this);
    }

    /// <summary>Refuses new turns from now on and waits for the running ones; false when <paramref name="limit"/> passed first.</summary>
    public async Task<bool> DrainAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        _draining = true;
        if (Active == 0) return true;
        try
        {
            await _idle.Task.WaitAsync(limit, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private void Leave()
    {
        if (Interlocked.Decrement(ref _active) == 0 && _draining)
            _idle.TrySetResult();
    }

    private sealed class Turn(ChatDrain drain) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) drain.Leave();
        }
    }
}
