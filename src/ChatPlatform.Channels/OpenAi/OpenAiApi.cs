using System.Net;
using System.Text.Json;
using ChatPlatform.Channels.Http;
using ChatPlatform.Core.ApiKeys;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Personas;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace ChatPlatform.Channels.OpenAi;

/// <summary>
/// An OpenAI-compatible API at <c>/v1</c>: each persona is a model. <c>GET /v1/models</c> lists them and
/// <c>POST /v1/chat/completions</c> runs one turn through the <see cref="ChatOrchestrator"/>, streamed or not.
/// </summary>
public static class OpenAiApi
{
    public const string Channel = "openai";
    public const string ConversationHeader = "X-Conversation-Id";
    public const long MaxBodyBytes = 256 * 1024;
    public const int MaxConversationIdLength = 60;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static IEndpointRouteBuilder MapOpenAiApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").AddEndpointFilter(RequireKey).RequireRateLimiting(RateLimiting.PerIpRateLimiting.Policy);
        v1.MapGet("/models", GetModels);
        v1.MapPost("/chat/completions", PostCompletion).WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes));
        return app;
    }

    private static async ValueTask<object?> RequireKey(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var services = http.RequestServices;
        var keys = (ApiKeys)services.GetService(typeof(ApiKeys))!;
        var options = (OpenAiApiOptions)services.GetService(typeof(OpenAiApiOptions))!;
        var presented = ChatHttp.BearerToken(http.Request);

        if (!string.IsNullOrEmpty(presented) && await keys.FindAsync(presented, http.RequestAborted) is { } record)
        {
            http.Items[KeyNameItem] = record.Name;
            return await next(context);
        }

        var anyKey = await keys.AnyActiveAsync(http.RequestAborted);
        if (!anyKey && !options.RequireKey && ClientAddress.IsFromThisMachine(http))
            return await next(context);

        var message = string.IsNullOrEmpty(presented)
            ? anyKey || options.RequireKey
                ? "Missing API key: send 'Authorization: Bearer KEY' (create one with 'chatplatform apikey create --name NAME')."
                : "Missing API key: without issued keys only requests from this machine are served; create one with 'chatplatform apikey create --name NAME'."
            : "Invalid API key.";
        return Error(StatusCodes.Status401Unauthorized, message, "invalid_request_error", "invalid_api_key");
    }

    private const string KeyNameItem = "chatplatform.apikey";

    internal static IResult GetModels(IPersonaCatalog personas) =>
        TypedResults.Json(new ModelList("list", personas.OfferedOn(ChannelNames.Api).Select(p => new ModelEntry(p.Id, "model", 0, "chatplatform")).ToList()), Json);

    internal static async Task<IResult> PostCompletion(HttpContext http, ChatOrchestrator orchestrator, IPersonaCatalog personas, TimeProvider time, CancellationToken cancellationToken)
    {
        CompletionRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync<CompletionRequest>(http.Request.Body, Json, cancellationToken);
        }
        catch (JsonException e)
        {
            return Error(StatusCodes.Status400BadRequest, $"The request body is not valid JSON: {e.Message}", "invalid_request_error", "invalid_json");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Error(StatusCodes.Status413PayloadTooLarge, $"The request body is larger than {MaxBodyBytes} bytes.", "invalid_request_error", "request_too_large");
        }

        if (request is null)
            return Error(StatusCodes.Status400BadRequest, "The request body must be a JSON object with 'model' and 'messages'.", "invalid_request_error", "missing_body");
        if (string.IsNullOrWhiteSpace(request.Model))
            return Error(StatusCodes.Status400BadRequest, "The field 'model' is required: name a persona (see GET /v1/models).", "invalid_request_error", "missing_model");
        if (personas.FindOn(request.Model, ChannelNames.Api) is null)
            return Error(StatusCodes.Status404NotFound,
                $"The model '{request.Model}' does not exist. Available: {personas.AvailableOn(ChannelNames.Api)}.",
                "invalid_request_error", "model_not_found");
        var last = request.Messages?.LastOrDefault(m => string.Equals(m.Role, "user", StringComparison.Ordinal));
        if (last is null)
            return Error(StatusCodes.Status400BadRequest, "The field 'messages' must contain at least one message with role 'user'.", "invalid_request_error", "missing_user_message");

        var bound = http.Request.Headers[ConversationHeader].FirstOrDefault()
            ?? (request.Metadata?.TryGetValue("conversation_id", out var fromMetadata) == true ? fromMetadata : null)
            ?? request.User;
        if (bound is not null && (bound.Length is 0 or > MaxConversationIdLength || bound.Any(char.IsControl)))
            return Error(StatusCodes.Status400BadRequest,
                $"The conversation id (header {ConversationHeader}, metadata.conversation_id or user) must be 1 to {MaxConversationIdLength} printable characters.",
                "invalid_request_error", "invalid_conversation_id");
        // Conversations are kept apart per API key, so one client cannot continue another's conversation.
        var owner = http.Items[KeyNameItem] as string ?? "local";
        var conversationId = bound is null ? $"{owner}/{Guid.NewGuid():N}" : $"{owner}/{bound}";

        var turn = new ChatTurn(request.Model, conversationId, last.Text(), Channel: Channel, UserId: request.User);
        var start = await orchestrator.StartAsync(turn, cancellationToken: cancellationToken);
        if (start.Error is { } error)
        {
            ChatHttp.SetRetryAfter(http.Response, start.RetryAfter);
            var status = ChatHttp.StatusCode(error.Kind);
            var type = status switch
            {
                StatusCodes.Status429TooManyRequests => "rate_limit_error",
                >= 500 => "server_error",
                _ => "invalid_request_error",
            };
            return Error(status, error.Message, type, error.Code);
        }

        var id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        http.Response.Headers[ConversationHeader] = bound ?? conversationId[(owner.Length + 1)..];
        if (request.Stream == true)
        {
            await StreamAsync(http.Response, start.Events!, id, created, request.Model, cancellationToken);
            return TypedResults.Empty;
        }

        var reply = await ChatReply.ReadAsync(start.Events!, cancellationToken: cancellationToken);
        if (reply.Completed is not { } completed)
        {
            var problem = reply.Failed?.Error ?? new ChatError(ChatErrorKind.Upstream, "reply_interrupted", "The reply was interrupted. Please try again.");
            return Error(ChatHttp.StatusCode(problem.Kind), problem.Message, "server_error", problem.Code);
        }

        var tokens = completed.OutputTokens ?? 0;
        return TypedResults.Json(new Completion(id, "chat.completion", created, request.Model,
            [new CompletionChoice(0, new ResponseMessage("assistant", completed.Text), FinishReason(completed.FinishReason))],
            new CompletionUsage(0, tokens, tokens), CitationEntry.From(completed.Citations)), Json);
    }

    private static async Task StreamAsync(HttpResponse response, IAsyncEnumerable<ChatEvent> events, string id, long created, string model, CancellationToken cancellationToken)
    {
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await WriteAsync(response, Chunk(id, created, model, new ChunkDelta("assistant", ""), null), cancellationToken);
        await foreach (var e in events.WithCancellation(cancellationToken))
        {
            switch (e)
            {
                case ChatDelta d:
                    await WriteAsync(response, Chunk(id, created, model, new ChunkDelta(null, d.Text), null), cancellationToken);
                    break;
                case ChatCompleted c:
                    await WriteAsync(response, Chunk(id, created, model, new ChunkDelta(null, null), FinishReason(c.FinishReason)) with
                    {
                        Citations = CitationEntry.From(c.Citations),
                    }, cancellationToken);
                    break;
                case ChatFailed f:
                    // The stream has started, so the failure travels as an error object, as OpenAI's own streams do.
                    await WriteAsync(response, new ErrorBody(new ErrorDetail(f.Error.Message, "server_error", f.Error.Code)), cancellationToken);
                    break;
            }
        }
        await response.WriteAsync("data: [DONE]\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    private static CompletionChunk Chunk(string id, long created, string model, ChunkDelta delta, string? finishReason) =>
        new(id, "chat.completion.chunk", created, model, [new ChunkChoice(0, delta, finishReason)]);

    private static async Task WriteAsync<T>(HttpResponse response, T data, CancellationToken cancellationToken)
    {
        await response.WriteAsync("data: " + JsonSerializer.Serialize(data, Json) + "\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    /// <summary>OpenAI's finish reasons; ours that have no counterpart (timeout, cancelled) read as "stop".</summary>
    private static string FinishReason(string reason) => reason switch
    {
        "length" => "length",
        "content_filter" => "content_filter",
        _ => "stop",
    };

    private static JsonHttpResult<ErrorBody> Error(int status, string message, string type, string code) =>
        TypedResults.Json(new ErrorBody(new ErrorDetail(message, type, code)), Json, statusCode: status);
}
