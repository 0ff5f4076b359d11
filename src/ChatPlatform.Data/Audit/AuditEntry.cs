namespace ChatPlatform.Data.Audit;

/// <summary>One administrative change. Rows are only ever added: <see cref="ChatDbContext"/> refuses updates and deletes.</summary>
public sealed class AuditEntry
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }
    /// <summary>Who did it: an admin user name, <c>cli</c> or <c>system</c>.</summary>
    public required string Actor { get; set; }
    /// <summary>What was done, e.g. <c>user.erase</c>, <c>persona.activate</c>.</summary>
    public required string Action { get; set; }
    /// <summary>What it was done to, e.g. <c>persona:mindchat</c>. Never a person's message text.</summary>
    public required string Target { get; set; }
    /// <summary>Non-identifying facts as JSON (counts, versions).</summary>
    public string? Details { get; set; }
}
