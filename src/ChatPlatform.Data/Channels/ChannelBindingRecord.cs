namespace ChatPlatform.Data.Channels;

/// <summary>Which persona answers on a channel endpoint (a Slack workspace, a Bot Framework app id, a web widget).</summary>
public sealed class ChannelBindingRecord
{
    public long Id { get; set; }
    /// <summary><c>web</c>, <c>slack</c>, <c>botframework</c>, <c>openai</c>…</summary>
    public required string Channel { get; set; }
    /// <summary>The channel-side identity of the endpoint (app id, team id); unique per channel.</summary>
    public required string EndpointId { get; set; }
    public required string PersonaId { get; set; }
    public string? Locale { get; set; }
    /// <summary>Channel-specific settings as JSON; secrets are referenced by name, not stored.</summary>
    public string? Settings { get; set; }
    public bool Enabled { get; set; } = true;
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
