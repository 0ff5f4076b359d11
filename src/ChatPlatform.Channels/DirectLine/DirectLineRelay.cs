using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ChatPlatform.Channels.DirectLine;

/// <summary>
/// The notice one node sends the others about a Direct Line activity: the conversation, the activity's position and
/// the activity itself, with the details the store does not keep (the client's <c>clientActivityID</c>, which Web Chat
/// needs to mark a message sent, and a reply's sources). An activity too large for a notice is announced by position
/// only, and the nodes read the stored message. A node ignores its own notices.
/// </summary>
public sealed class DirectLineRelay
{
    public const string Channel = "chatplatform_directline";

    private readonly string _node = Guid.NewGuid().ToString("N")[..12];

    /// <summary>One announcement as read by a receiving node; <see cref="Activity"/> is null when it was too large to carry.</summary>
    public sealed record Received(string ConversationId, ActivityPosition? Position, DirectLineActivity? Activity, bool Kept);

    private sealed record Wire(
        [property: JsonPropertyName("n")] string Node,
        [property: JsonPropertyName("c")] string Conversation,
        [property: JsonPropertyName("w")] string? Watermark,
        [property: JsonPropertyName("k")] bool Kept,
        [property: JsonPropertyName("a")] DirectLineActivity? Activity);

    /// <summary>The notice of one activity; without the activity when it would not fit <paramref name="maxPayloadBytes"/>.</summary>
    public string Notice(string conversationId, ActivityPosition? position, DirectLineActivity activity, bool kept, int maxPayloadBytes)
    {
        var payload = JsonSerializer.Serialize(new Wire(_node, conversationId, position?.ToString(), kept, activity), DirectLineJson.Options);
        if (Encoding.UTF8.GetByteCount(payload) <= maxPayloadBytes) return payload;
        return JsonSerializer.Serialize(new Wire(_node, conversationId, position?.ToString(), kept, null), DirectLineJson.Options);
    }

    /// <summary>Another node's announcement, or null for this node's own and for anything that is not one.</summary>
    public Received? Read(string payload)
    {
        Wire? wire;
        try
        {
            wire = JsonSerializer.Deserialize<Wire>(payload, DirectLineJson.Options);
        }
        catch (JsonException)
        {
            return null;
        }
        if (wire is null || wire.Node == _node || string.IsNullOrEmpty(wire.Conversation)) return null;
        var position = ActivityPosition.ParseWatermark(wire.Watermark);
        if (wire.Kept && position is null) return null;
        return new Received(wire.Conversation, position, wire.Activity, wire.Kept);
    }
}
