namespace ChatPlatform.Channels.OpenAi;

/// <summary>The <c>ChatPlatform:Api</c> section.</summary>
public sealed class OpenAiApiOptions
{
    public const string SectionName = "ChatPlatform:Api";

    /// <summary>
    /// When true, every request needs a valid key. When false (the default), a key is still required as soon as
    /// one has been issued; before that, only requests from this machine (loopback) are served without one.
    /// </summary>
    public bool RequireKey { get; set; }
}
