namespace ChatPlatform.Channels.BotFramework;

/// <summary>
/// The <c>ChatPlatform:BotFramework</c> section. Credentials are not here: the SDK reads its standard keys
/// (<c>MicrosoftAppId</c>, <c>MicrosoftAppPassword</c>, <c>MicrosoftAppTenantId</c>, <c>MicrosoftAppType</c>) from the root.
/// </summary>
public sealed class BotFrameworkOptions
{
    public const string SectionName = "ChatPlatform:BotFramework";

    /// <summary>The persona that answers when no route, binding or <c>/persona</c> command chose one; null: the first pack.</summary>
    public string? Persona { get; set; }

    /// <summary>Messages one user may send per minute before being asked to slow down; 0 turns the limit off.</summary>
    public int UserMessagesPerMinute { get; set; } = 20;

    /// <summary>
    /// How long a Teams one-to-one stream may run before updates stop and the answer arrives as one message.
    /// Teams ends streams after two minutes; the default leaves room for the final message.
    /// </summary>
    public int StreamMaxSeconds { get; set; } = 110;

    /// <summary>A reply still running after this long is streamed in Teams one-to-one chats; shorter replies arrive whole.</summary>
    public int StreamAfterMilliseconds { get; set; } = 1000;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (UserMessagesPerMinute < 0)
            errors.Add($"{SectionName}:UserMessagesPerMinute must be 0 (off) or more (got {UserMessagesPerMinute})");
        if (StreamMaxSeconds is < 1 or > 115)
            errors.Add($"{SectionName}:StreamMaxSeconds must be between 1 and 115, inside Teams' two-minute stream limit (got {StreamMaxSeconds})");
        if (StreamAfterMilliseconds is < 0 or > 60_000)
            errors.Add($"{SectionName}:StreamAfterMilliseconds must be between 0 and 60000 (got {StreamAfterMilliseconds})");
        return errors;
    }
}
