namespace ChatPlatform.Data.Channels;

/// <summary>
/// A channel delivery already taken in (a Slack <c>event_id</c>, a Bot Framework activity): the unique key on channel
/// and id is what lets every node sharing the store answer a message once, whichever node a retry reaches.
/// </summary>
public sealed class DeliveryRecord
{
    /// <summary><c>slack</c>, <c>bf-msteams</c>…</summary>
    public required string Channel { get; set; }

    /// <summary>The channel's id of the delivery, or a hash of it when the channel's id is long.</summary>
    public required string DeliveryId { get; set; }

    public DateTimeOffset ReceivedAt { get; set; }
}
