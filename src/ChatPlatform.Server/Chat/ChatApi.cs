using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json.Serialization;
using ChatPlatform.Channels.Http;
using ChatPlatform.Channels.RateLimiting;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Personas;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;

namespace ChatPlatform.Server.Chat;

/// <summary>The web chat API: <c>POST /api/chat</c> streams a persona's reply as server-sent events.</summary>
public static class ChatApi
{
    /// <summary>Largest request body accepted by the chat endpoint (the text limit is checked separately).</summary>
    public const long MaxBodyBytes = 256 * 1024;

    public static IEndpointRouteBuilder MapChatApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/chat", PostChat)
            .WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes))
            .RequireRateLimiting(PerIpRateLimiting.Policy)
            .Accepts<ChatRequest>("application/json")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status502BadGateway);
        app.MapGet("/api/personas", GetPersonas);
        return app;
    }

    /// <summary>The response header that carries the conversation token (also in the <c>done</c> event).</summary>
    public const string TokenHeader = "X-Conversation-Token";

    internal static async Task<IResult> PostChat(ChatRequest? request, ChatOrchestrator orchestrator, ConversationTokens tokens, HttpContext http, CancellationToken cancellationToken)
    {
        if (request is null)
            return Problem(new ChatError(ChatErrorKind.Invalid, "missing_body", "The request body must be a JSON object with 'persona' and 'text'."));

        // A conversation is continued only with the token its first turn returned; without one, the turn starts a new
        // conversation (under the id the client suggests, if that id is not stored yet, or one the server makes up).
        // Every way of naming a conversation one may not continue gets the same 404.
        var persona = request.Persona ?? "";
        string conversationId;
        ConversationAccess access;
        if (ChatHttp.BearerToken(http.Request) is { } presented)
        {
            if (tokens.Check(presented) is not { } grant
                || (!string.IsNullOrEmpty(request.ConversationId) && request.ConversationId != grant.ConversationId)
                || (persona.Length > 0 && persona != grant.Persona))
                return Problem(ChatOrchestrator.ConversationNotFound);
            persona = grant.Persona;
            conversationId = grant.ConversationId;
            access = ConversationAccess.Existing;
        }
        else
        {
            conversationId = string.IsNullOrEmpty(request.ConversationId) ? NewConversationId() : request.ConversationId;
            access = ConversationAccess.New;
        }

        var turn = new ChatTurn(persona, conversationId, request.Text ?? "", request.Locale, "web", request.UserId) { Access = access };
        var start = await orchestrator.StartAsync(turn, cancellationToken: cancellationToken);
        if (start.Error is { } error)
        {
            ChatHttp.SetRetryAfter(http.Response, start.RetryAfter);
            // A busy or failing core refuses the turn after its conversation was created: the token lets the client
            // send it again into that conversation (a suggested id is taken from now on).
            if (error.Kind is ChatErrorKind.Busy or ChatErrorKind.Upstream)
                http.Response.Headers[TokenHeader] = tokens.Issue(conversationId, persona, request.Locale ?? "", request.UserId);
            return Problem(error);
        }

        var token = tokens.Issue(conversationId, persona, request.Locale ?? "", request.UserId);
        http.Response.Headers[TokenHeader] = token;
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        return TypedResults.ServerSentEvents(ToSse(start.Events!, token, cancellationToken));
    }

    /// <summary>An id nobody can guess: 128 random bits.</summary>
    private static string NewConversationId() => "c_" + WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(16));

    private static async IAsyncEnumerable<SseItem<object>> ToSse(IAsyncEnumerable<ChatEvent> events, string token, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var e in events.WithCancellation(cancellationToken))
        {
            // The sources come just before "done", so a page can list them under the finished reply.
            if (e is ChatCompleted { Citations.Count: > 0 } grounded)
                yield return new SseItem<object>(grounded.Citations.Select(c => new CitationData(c.Number, c.Id, c.Title, c.Section, c.Page, c.Link)).ToArray(), "citations");
            yield return e switch
            {
                ChatDelta d => new SseItem<object>(new DeltaData(d.Text), "delta"),
                ChatCompleted c => new SseItem<object>(new DoneData(c.ConversationId, token, c.Persona, c.Locale, c.FinishReason, c.OutputTokens, Math.Round(c.ElapsedMs, 1)), "done"),
                ChatFailed f => new SseItem<object>(new ErrorData(f.Error.Code, f.Error.Message), "error"),
                _ => throw new InvalidOperationException($"Unexpected chat event {e.GetType().Name}."),
            };
        }
    }

    internal static Ok<PersonaSummary[]> GetPersonas(IPersonaCatalog catalog) =>
        TypedResults.Ok(catalog.All.Select(p => new PersonaSummary(p.Id, p.Name, p.Domain, p.Version, p.Locales, p.Greeting)).ToArray());

    internal static ProblemHttpResult Problem(ChatError error) => TypedResults.Problem(
        title: error.Code,
        detail: error.Message,
        statusCode: ChatHttp.StatusCode(error.Kind),
        extensions: new Dictionary<string, object?> { ["code"] = error.Code });

    private sealed record DeltaData([property: JsonPropertyName("text")] string Text);
    private sealed record DoneData(string ConversationId, string ConversationToken, string Persona, string Locale, string FinishReason, int? OutputTokens, double ElapsedMs);
    private sealed record ErrorData(string Code, string Message);
    private sealed record CitationData(int Index, string Id, string Title, string? Section, int? Page, string? Url);
}

/// <summary>The body of <c>POST /api/chat</c>.</summary>
public sealed record ChatRequest(string? Persona, string? ConversationId, string? Text, string? Locale, string? UserId);

public sealed record PersonaSummary(string Id, string Name, string Domain, string Version, IReadOnlyList<string> Locales, IReadOnlyDictionary<string, string> Greeting);
