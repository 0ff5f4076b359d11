using System.Text.Json;
using System.Text.Json.Serialization;

namespace ChatPlatform.Channels.OpenAi;

/// <summary>The parts of an OpenAI chat completion request this server reads; anything else is ignored.</summary>
internal sealed class CompletionRequest
{
    [JsonPropertyName("model")] public string? Model { get; set; }
    [JsonPropertyName("messages")] public List<RequestMessage>? Messages { get; set; }
    [JsonPropertyName("stream")] public bool? Stream { get; set; }
    [JsonPropertyName("user")] public string? User { get; set; }
    [JsonPropertyName("metadata")] public Dictionary<string, string>? Metadata { get; set; }
}

internal sealed class RequestMessage
{
    [JsonPropertyName("role")] public string? Role { get; set; }

    /// <summary>A string, or an array of parts of which the <c>text</c> ones are used.</summary>
    [JsonPropertyName("content")] public JsonElement Content { get; set; }

    public string Text()
    {
        switch (Content.ValueKind)
        {
            case JsonValueKind.String:
                return Content.GetString() ?? "";
            case JsonValueKind.Array:
                var parts = Content.EnumerateArray()
                    .Where(p => p.ValueKind == JsonValueKind.Object
                        && p.TryGetProperty("type", out var type) && type.ValueEquals("text")
                        && p.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                    .Select(p => p.GetProperty("text").GetString());
                return string.Join("\n", parts);
            default:
                return "";
        }
    }
}

internal sealed record ModelList(
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("data")] IReadOnlyList<ModelEntry> Data);

internal sealed record ModelEntry(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("owned_by")] string OwnedBy);

internal sealed record Completion(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<CompletionChoice> Choices,
    [property: JsonPropertyName("usage")] CompletionUsage Usage,
    [property: JsonPropertyName("citations"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<CitationEntry>? Citations = null);

/// <summary>A source the reply was grounded in (an extension field; OpenAI clients ignore it).</summary>
internal sealed record CitationEntry(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("section"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Section,
    [property: JsonPropertyName("page"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Page,
    [property: JsonPropertyName("url"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Url)
{
    public static IReadOnlyList<CitationEntry>? From(IReadOnlyList<Core.Knowledge.Citation> citations) =>
        citations.Count == 0 ? null : [.. citations.Select(c => new CitationEntry(c.Number, c.Id, c.Title, c.Section, c.Page, c.Link))];
}

internal sealed record CompletionChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("message")] ResponseMessage Message,
    [property: JsonPropertyName("finish_reason")] string FinishReason);

internal sealed record ResponseMessage(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string Content);

internal sealed record CompletionUsage(
    [property: JsonPropertyName("prompt_tokens")] int PromptTokens,
    [property: JsonPropertyName("completion_tokens")] int CompletionTokens,
    [property: JsonPropertyName("total_tokens")] int TotalTokens);

internal sealed record CompletionChunk(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChunkChoice> Choices,
    [property: JsonPropertyName("citations"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<CitationEntry>? Citations = null);

internal sealed record ChunkChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("delta")] ChunkDelta Delta,
    [property: JsonPropertyName("finish_reason")] string? FinishReason);

internal sealed record ChunkDelta(
    [property: JsonPropertyName("role"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonPropertyName("content"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content);

internal sealed record ErrorBody([property: JsonPropertyName("error")] ErrorDetail Error);

internal sealed record ErrorDetail(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("code")] string Code);
