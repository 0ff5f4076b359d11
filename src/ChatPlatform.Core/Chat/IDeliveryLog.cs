namespace ChatPlatform.Core.Chat;

/// <summary>
/// Which channel deliveries have been taken in, across all nodes sharing a store: a channel that retries may reach
/// another node, and the message must still be answered once.
/// </summary>
public interface IDeliveryLog
{
    /// <summary>Records a delivery; true the first time any node sees it, false for a repeat.</summary>
    Task<bool> TryRecordAsync(string channel, string deliveryId, CancellationToken cancellationToken);

    /// <summary>Forgets a delivery that was recorded but not taken in after all, so that the channel's retry is answered.</summary>
    Task ForgetAsync(string channel, string deliveryId, CancellationToken cancellationToken);
}
