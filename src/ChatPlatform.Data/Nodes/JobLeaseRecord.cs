namespace ChatPlatform.Data.Nodes;

/// <summary>
/// Who runs a background job now: one row per job, held by one node until <see cref="ExpiresAt"/>. A node takes or
/// renews it with a conditional update, so nodes sharing a store run each job once instead of side by side.
/// </summary>
public sealed class JobLeaseRecord
{
    /// <summary>The job, e.g. <c>retention</c>.</summary>
    public required string Name { get; set; }

    /// <summary>The node that holds the lease (<see cref="JobLeases.Holder"/>).</summary>
    public required string Holder { get; set; }

    public DateTimeOffset TakenAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }
}
