namespace ChatPlatform.Channels.Slack;

/// <summary>The <c>ChatPlatform:Slack</c> section. The endpoint answers 404 until a signing secret is set.</summary>
public sealed class SlackOptions
{
    public const string SectionName = "ChatPlatform:Slack";

    /// <summary>The app's signing secret; every request is checked against it.</summary>
    public string? SigningSecret { get; set; }

    /// <summary>The bot token (<c>xoxb-…</c>) replies are posted with.</summary>
    public string? BotToken { get; set; }

    /// <summary>Where <c>chat.postMessage</c> is called.</summary>
    public string ApiBaseUrl { get; set; } = "https://slack.com/api/";

    /// <summary>The persona that answers unless a channel chose another with <c>/persona ID</c>.</summary>
    public string Persona { get; set; } = "gradchat";

    public bool Enabled => !string.IsNullOrWhiteSpace(SigningSecret);
}
