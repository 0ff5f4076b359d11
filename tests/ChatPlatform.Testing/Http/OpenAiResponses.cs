using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ChatPlatform.Testing.Http;

/// <summary>Writes OpenAI-compatible chat completion responses, as llama.cpp's server and vLLM send them.</summary>
public static class OpenAiResponses
{
    public static string Chunk(string? content, string? finishReason = null, string model = "test-model") => JsonSerializer.Serialize(new
    {
        id = "chatcmpl-1",
        @object = "chat.completion.chunk",
        created = 1_700_000_000,
        model,
        choices = new[] { new { index = 0, delta = content is null ? (object)new { role = "assistant" } : new { content }, finish_reason = finishReason } },
    });

    public static string UsageChunk(int promptTokens, int completionTokens) => JsonSerializer.Serialize(new
    {
        id = "chatcmpl-1",
        @object = "chat.completion.chunk",
        created = 1_700_000_000,
        model = "test-model",
        choices = Array.Empty<object>(),
        usage = new { prompt_tokens = promptTokens, completion_tokens = completionTokens, total_tokens = promptTokens + completionTokens },
    });

    /// <summary>Starts an SSE response and sends one <c>data:</c> event per item, flushing each.</summary>
    public static async Task WriteEventsAsync(HttpContext context, IEnumerable<string> data)
    {
        context.Response.ContentType = "text/event-stream";
        foreach (var item in data)
        {
            await context.Response.WriteAsync($"data: {item}\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
    }

    /// <summary>A whole streamed reply: a role chunk, one chunk per text piece, the finish reason, usage and <c>[DONE]</c>.</summary>
    public static Task WriteReplyAsync(HttpContext context, params string[] pieces) =>
        WriteEventsAsync(context, [Chunk(null), .. pieces.Select(p => Chunk(p)), FinishChunk(), UsageChunk(12, pieces.Length), "[DONE]"]);

    private static string FinishChunk() => JsonSerializer.Serialize(new
    {
        id = "chatcmpl-1",
        @object = "chat.completion.chunk",
        created = 1_700_000_000,
        model = "test-model",
        choices = new[] { new { index = 0, delta = new { }, finish_reason = "stop" } },
    });

    /// <summary>
    /// Breaks the connection (TCP reset) the way a crashed server does. It waits a moment first: a reset makes the
    /// peer drop bytes it has received but not yet read, and the tests want what was sent to arrive.
    /// </summary>
    public static async Task AbortAfterDeliveryAsync(HttpContext context)
    {
        await Task.Delay(300, CancellationToken.None);
        context.Abort();
    }

    /// <summary>A non-streamed reply.</summary>
    public static Task WriteCompletionAsync(HttpContext context, string content)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            id = "chatcmpl-2",
            @object = "chat.completion",
            created = 1_700_000_000,
            model = "test-model",
            choices = new[] { new { index = 0, message = new { role = "assistant", content }, finish_reason = "length" } },
            usage = new { prompt_tokens = 9, completion_tokens = 3, total_tokens = 12 },
        }), context.RequestAborted);
    }

    /// <summary>An error status with an OpenAI-style error body.</summary>
    public static Task WriteErrorAsync(HttpContext context, int status, string message, int? retryAfterSeconds = null)
    {
        context.Response.StatusCode = status;
        if (retryAfterSeconds is { } seconds) context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new { error = new { message, type = "server_error" } }), context.RequestAborted);
    }
}
