using ChatPlatform.Core.Personas;

namespace ChatPlatform.Admin.Personas;

/// <summary>A playground turn: what was sent, the reply text so far, and the finished reply with its figures.</summary>
public sealed class PlaygroundTurn(string user)
{
    public string User { get; } = user;
    public string Text { get; set; } = "";
    public ProbeReply? Reply { get; set; }
}
