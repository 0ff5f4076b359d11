namespace ChatPlatform.Core.Nodes;

/// <summary>What one subscriber does with the notices of its channel, and after listening (re)started.</summary>
public sealed record NoticeSubscription(string Channel, Func<string, CancellationToken, Task> OnNotice, Func<CancellationToken, Task> OnResumed);

/// <summary>
/// Short notices between the nodes that share one store. Registered only where nodes can share a store; one node
/// alone has no one to tell. Notices are not kept: a node that was not listening reads the store instead.
/// </summary>
public interface INodeNotifications
{
    /// <summary>The largest payload a notice carries, in UTF-8 bytes; a larger one must name what to read instead.</summary>
    int MaxPayloadBytes { get; }

    /// <summary>True while notices arrive as they are sent; false before the first connection and after a lost one.</summary>
    bool IsListening { get; }

    /// <summary>Adds a subscriber; only while the host starts.</summary>
    void Subscribe(NoticeSubscription subscription);

    /// <summary>Sends <paramref name="payload"/> to every node listening on <paramref name="channel"/>, this one included.</summary>
    Task NotifyAsync(string channel, string payload, CancellationToken cancellationToken);
}
