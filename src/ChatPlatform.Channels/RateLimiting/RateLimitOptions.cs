namespace ChatPlatform.Channels.RateLimiting;

/// <summary>The <c>ChatPlatform:RateLimit</c> section: a fixed window per client IP on the public chat endpoints.</summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "ChatPlatform:RateLimit";

    /// <summary>Requests one IP address may make per window; 0 turns the limit off.</summary>
    public int PermitsPerWindow { get; set; } = 60;

    public int WindowSeconds { get; set; } = 60;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (PermitsPerWindow < 0)
            errors.Add($"{SectionName}:PermitsPerWindow must be 0 (off) or more (got {PermitsPerWindow})");
        if (WindowSeconds is < 1 or > 86_400)
            errors.Add($"{SectionName}:WindowSeconds must be between 1 and 86400 (got {WindowSeconds})");
        return errors;
    }
}
