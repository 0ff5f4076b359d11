using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace ChatPlatform.Channels.DirectLine;

/// <summary>A Bot Framework activity as Direct Line carries it (only the fields this server reads or writes).</summary>
public sealed class DirectLineActivity
{
    public string? Type { get; set; }
    public string? Id { get; set; }
    public string? Timestamp { get; set; }
    public string? ChannelId { get; set; }
    public ChannelAccount? From { get; set; }
    public ConversationAccount? Conversation { get; set; }
    public ChannelAccount? Recipient { get; set; }
    public string? Text { get; set; }
    public string? TextFormat { get; set; }
    public string? Locale { get; set; }
    public string? ReplyToId { get; set; }
    public string? Name { get; set; }
    public JsonNode? Value { get; set; }
    public JsonObject? ChannelData { get; set; }
    public JsonArray? Entities { get; set; }
    public JsonArray? Attachments { get; set; }
}

public sealed record ChannelAccount(string? Id, string? Name = null, string? Role = null);

public sealed record ConversationAccount(string Id);

/// <summary>What <c>GET …/activities</c> returns and what the WebSocket stream sends in each frame.</summary>
public sealed record ActivitySet(IReadOnlyList<DirectLineActivity> Activities, string? Watermark);

/// <summary>The answer to token and conversation calls.</summary>
public sealed record DirectLineConversationResponse(
    string ConversationId,
    string Token,
    [property: JsonPropertyName("expires_in")] int? ExpiresIn = null,
    string? StreamUrl = null);

/// <summary>Optional body of <c>tokens/generate</c> and <c>conversations</c>.</summary>
public sealed record DirectLineStartRequest(ChannelAccount? User, string? Locale, string? Persona);

/// <summary>Direct Line's error shape: <c>{"error":{"code","message"}}</c>.</summary>
public sealed record DirectLineError(DirectLineErrorBody Error)
{
    public DirectLineError(string code, string message) : this(new DirectLineErrorBody(code, message)) { }
}

public sealed record DirectLineErrorBody(string Code, string Message);

public sealed record ResourceResponse(string Id);

internal static class DirectLineJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
