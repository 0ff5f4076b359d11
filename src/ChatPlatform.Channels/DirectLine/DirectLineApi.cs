using System.Text;
using System.Text.Json;
using ChatPlatform.Channels.Http;
using ChatPlatform.Channels.RateLimiting;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Personas;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace ChatPlatform.Channels.DirectLine;

/// <summary>
/// A Direct Line 3.0-compatible endpoint under <c>/v3/directline</c> (tokens, conversations, activities with
/// watermark, the WebSocket stream) so the official Web Chat bundle talks to the personas with no Azure in
/// between, plus <c>POST /api/widget/token</c>, which hands the embeddable widget a token without any secret.
/// </summary>
public static partial class DirectLineApi
{
    public const string ChannelId = "directline";
    public const string Prefix = "/v3/directline";
    public const string CorsPolicy = "directline";

    public static IEndpointRouteBuilder MapDirectLine(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup(Prefix).RequireCors(CorsPolicy);
        group.MapPost("/tokens/generate", GenerateToken).RequireRateLimiting(PerIpRateLimiting.Policy);
        group.MapPost("/tokens/refresh", RefreshToken);
        group.MapPost("/conversations", StartConversation).RequireRateLimiting(PerIpRateLimiting.Policy);
        group.MapGet("/conversations/{conversationId}", ResumeConversation);
        group.MapPost("/conversations/{conversationId}/activities", PostActivity).RequireRateLimiting(PerIpRateLimiting.Policy);
        group.MapGet("/conversations/{conversationId}/activities", GetActivities);
        group.Map("/conversations/{conversationId}/stream", Stream);
        group.MapPost("/conversations/{conversationId}/upload", Upload);
        app.MapPost("/api/widget/token", WidgetToken).RequireCors(CorsPolicy).RequireRateLimiting(PerIpRateLimiting.Policy);
        return app;
    }

    internal static async Task<IResult> GenerateToken(HttpContext http, DirectLineServices dl, CancellationToken cancellationToken)
    {
        var (caller, failure) = Authorize(http, dl, null);
        if (failure is not null) return failure;
        if (!caller!.WithSecret) return Error(StatusCodes.Status403Forbidden, "Forbidden", "tokens/generate needs a Direct Line secret, not a token.");
        var (request, bad) = await ReadStartAsync(http, cancellationToken);
        if (bad is not null) return bad;
        var (grant, refused) = NewGrant(dl, request?.Persona ?? http.Request.Query["persona"], request?.User?.Id, request?.Locale);
        if (refused is not null) return refused;
        return TypedResults.Ok(new DirectLineConversationResponse(grant!.ConversationId, dl.Tokens.Issue(grant.ConversationId, grant.UserId, grant.Persona, grant.Locale), ExpiresIn(dl)));
    }

    internal static IResult RefreshToken(HttpContext http, DirectLineServices dl)
    {
        var (caller, failure) = Authorize(http, dl, null);
        if (failure is not null) return failure;
        if (caller!.Grant is not { } grant) return Error(StatusCodes.Status403Forbidden, "Forbidden", "tokens/refresh needs a token; a secret does not expire.");
        return TypedResults.Ok(new DirectLineConversationResponse(grant.ConversationId, dl.Tokens.Issue(grant.ConversationId, grant.UserId, grant.Persona, grant.Locale), ExpiresIn(dl)));
    }

    internal static async Task<IResult> StartConversation(HttpContext http, DirectLineServices dl, CancellationToken cancellationToken)
    {
        var (caller, failure) = Authorize(http, dl, null);
        if (failure is not null) return failure;
        var (request, bad) = await ReadStartAsync(http, cancellationToken);
        if (bad is not null) return bad;
        var grant = caller!.Grant;
        string token;
        if (grant is null)
        {
            (grant, var refused) = NewGrant(dl, request?.Persona ?? http.Request.Query["persona"], request?.User?.Id, request?.Locale);
            if (refused is not null) return refused;
            token = dl.Tokens.Issue(grant!.ConversationId, grant.UserId, grant.Persona, grant.Locale);
        }
        else
        {
            token = BearerOf(http)!;
        }
        await dl.Conversations.GetOrCreateAsync(grant, cancellationToken);
        var body = new DirectLineConversationResponse(grant.ConversationId, token, ExpiresIn(dl), StreamUrl(http, grant.ConversationId, token, null));
        return TypedResults.Json(body, DirectLineJson.Options, statusCode: StatusCodes.Status201Created);
    }

    internal static async Task<IResult> ResumeConversation(string conversationId, HttpContext http, DirectLineServices dl, CancellationToken cancellationToken)
    {
        var (conversation, token, failure) = await OpenAsync(http, dl, conversationId, cancellationToken);
        if (failure is not null) return failure;
        var body = new DirectLineConversationResponse(conversation!.Id, token!, ExpiresIn(dl), StreamUrl(http, conversation.Id, token!, http.Request.Query["watermark"]));
        return TypedResults.Json(body, DirectLineJson.Options);
    }

    internal static async Task<IResult> PostActivity(string conversationId, HttpContext http, DirectLineServices dl, ChatOrchestrator orchestrator, CancellationToken cancellationToken)
    {
        var (conversation, _, failure) = await OpenAsync(http, dl, conversationId, cancellationToken);
        if (failure is not null) return failure;
        if (http.Request.ContentLength > dl.Options.MaxActivityBytes)
            return Error(StatusCodes.Status413PayloadTooLarge, "MessageSizeTooBig", $"The activity is larger than {dl.Options.MaxActivityBytes} bytes.");

        DirectLineActivity? activity;
        try
        {
            activity = await JsonSerializer.DeserializeAsync<DirectLineActivity>(new LimitedStream(http.Request.Body, dl.Options.MaxActivityBytes), DirectLineJson.Options, cancellationToken);
        }
        catch (JsonException e)
        {
            return Error(StatusCodes.Status400BadRequest, "BadArgument", $"The body is not a valid activity: {e.Message}");
        }
        catch (InvalidDataException)
        {
            return Error(StatusCodes.Status413PayloadTooLarge, "MessageSizeTooBig", $"The activity is larger than {dl.Options.MaxActivityBytes} bytes.");
        }
        if (activity?.Type is not { Length: > 0 } type)
            return Error(StatusCodes.Status400BadRequest, "BadArgument", "The activity needs a 'type' (e.g. \"message\").");

        // Typing, events and the like need no answer; they get an id and go no further.
        if (type != "message")
            return TypedResults.Ok(new ResourceResponse($"{conversation!.Id}|{Guid.NewGuid():N}"));
        if (activity.Attachments is { Count: > 0 })
            return Error(StatusCodes.Status400BadRequest, "BadArgument", "Attachments are not supported; send text only.");

        var text = activity.Text?.Trim() ?? "";
        var locale = activity.Locale;
        var turn = new ChatTurn(conversation!.Persona, conversation.Id, text, null, ChannelId, conversation.UserId);
        if (orchestrator.Validate(turn) is { } invalid)
            return Error(ChatHttp.StatusCode(invalid.Kind), invalid.Code, invalid.Message);
        if (conversation.TakeMessagePermit(dl.Options.MessagesPerMinute, dl.Time.GetUtcNow()) is { } wait)
        {
            ChatHttp.SetRetryAfter(http.Response, wait);
            return Error(StatusCodes.Status429TooManyRequests, "TooManyRequests",
                $"This conversation may send {dl.Options.MessagesPerMinute} messages per minute. Try again in {ChatHttp.RetryAfterSeconds(wait)} s.");
        }

        // The echo: the user's activity goes into the transcript with a server id and its clientActivityID,
        // which is how Web Chat marks the message sent. Only bounded fields are kept: the text (within the message
        // limit), short format, locale and name; the client's value and other channelData are not.
        var echo = new DirectLineActivity
        {
            Type = "message",
            Text = activity.Text,
            TextFormat = activity.TextFormat is { Length: <= 16 } format ? format : null,
            Locale = locale is { Length: <= 35 } ? locale : null,
            From = new ChannelAccount(conversation.UserId, activity.From?.Name is { Length: <= 64 } name ? name : null, "user"),
            Recipient = new ChannelAccount(conversation.Persona, Role: "bot"),
            ChannelData = KeptChannelData(activity.ChannelData),
        };
        // The message is stored before it is answered: its store position is its id on every node.
        var sequence = await dl.Conversations.AddUserMessageAsync(conversation, echo, text, locale, cancellationToken);
        dl.Bot.Answer(conversation, echo, sequence, text, locale);
        return TypedResults.Ok(new ResourceResponse(echo.Id!));
    }

    internal static async Task<IResult> GetActivities(string conversationId, HttpContext http, DirectLineServices dl, CancellationToken cancellationToken)
    {
        var (conversation, _, failure) = await OpenAsync(http, dl, conversationId, cancellationToken);
        if (failure is not null) return failure;
        // Without notices from the other nodes, the store is read on every poll so no client waits on a stale copy.
        if (dl.Conversations.ReadsThrough)
            await dl.Conversations.SyncAsync(conversation!, cancellationToken);
        return TypedResults.Json(conversation!.Since(http.Request.Query["watermark"]), DirectLineJson.Options);
    }

    internal static async Task<IResult> Stream(string conversationId, HttpContext http, DirectLineServices dl, CancellationToken cancellationToken)
    {
        if (!http.WebSockets.IsWebSocketRequest)
            return Error(StatusCodes.Status400BadRequest, "BadArgument", "The stream is a WebSocket: connect to the streamUrl from the conversation call.");
        var (conversation, _, failure) = await OpenAsync(http, dl, conversationId, cancellationToken, streamUrl: true);
        if (failure is not null) return failure;

        using var socket = await http.WebSockets.AcceptWebSocketAsync();
        var connection = new StreamConnection(socket);
        conversation!.Attach(connection, http.Request.Query["watermark"])?.Close();
        try
        {
            await connection.RunAsync(cancellationToken);
        }
        finally
        {
            conversation.Detach(connection);
        }
        return TypedResults.Empty;
    }

    internal static async Task<IResult> Upload(string conversationId, HttpContext http, DirectLineServices dl, CancellationToken cancellationToken)
    {
        var (_, _, failure) = await OpenAsync(http, dl, conversationId, cancellationToken);
        return failure ?? Error(StatusCodes.Status400BadRequest, "BadArgument", "Attachments are not supported; send text only.");
    }

    /// <summary>The widget's token: one new conversation with <c>persona</c> for an anonymous visitor.</summary>
    internal static async Task<IResult> WidgetToken(HttpContext http, DirectLineServices dl, CancellationToken cancellationToken)
    {
        if (!dl.Options.WidgetEnabled)
            return Error(StatusCodes.Status404NotFound, "WidgetDisabled", "The chat widget is turned off on this server (ChatPlatform:DirectLine:WidgetEnabled).");
        var (request, bad) = await ReadStartAsync(http, cancellationToken);
        if (bad is not null) return bad;
        var persona = request?.Persona ?? http.Request.Query["persona"];
        if (string.IsNullOrWhiteSpace(persona))
            return Error(StatusCodes.Status400BadRequest, "missing_persona", "Name the persona: {\"persona\":\"gradchat\"}.");
        var (grant, refused) = NewGrant(dl, persona, null, request?.Locale ?? http.Request.Query["locale"]);
        if (refused is not null) return refused;
        var pack = dl.Personas.Find(grant!.Persona)!;
        return TypedResults.Ok(new WidgetTokenResponse(
            grant.ConversationId, dl.Tokens.Issue(grant.ConversationId, grant.UserId, grant.Persona, grant.Locale), ExpiresIn(dl),
            grant.UserId, pack.Id, pack.Name, pack.ResolveLocale(grant.Locale), Prefix));
    }

    private sealed record WidgetTokenResponse(
        string ConversationId, string Token, [property: System.Text.Json.Serialization.JsonPropertyName("expires_in")] int ExpiresIn,
        string UserId, string Persona, string PersonaName, string Locale, string Domain);

    private static async Task<(DirectLineStartRequest? Request, IResult? Bad)> ReadStartAsync(HttpContext http, CancellationToken cancellationToken)
    {
        if (http.Request.ContentLength is null or 0 && http.Request.Headers.TransferEncoding.Count == 0)
            return (null, null);
        try
        {
            return (await JsonSerializer.DeserializeAsync<DirectLineStartRequest>(new LimitedStream(http.Request.Body, 16 * 1024), DirectLineJson.Options, cancellationToken), null);
        }
        catch (JsonException e)
        {
            return (null, Error(StatusCodes.Status400BadRequest, "BadArgument", $"The body is not valid JSON: {e.Message}"));
        }
        catch (InvalidDataException)
        {
            return (null, Error(StatusCodes.Status413PayloadTooLarge, "MessageSizeTooBig", "The body is larger than 16 KiB."));
        }
    }

    /// <summary>The client fields the echo needs and nothing else: the transcript in memory keeps no client payloads.</summary>
    internal static System.Text.Json.Nodes.JsonObject KeptChannelData(System.Text.Json.Nodes.JsonObject? channelData)
    {
        var kept = new System.Text.Json.Nodes.JsonObject();
        foreach (var key in (string[])["clientActivityID", "clientTimestamp"])
            if (channelData?[key] is System.Text.Json.Nodes.JsonValue value && value.TryGetValue<string>(out var text) && text.Length <= 128)
                kept[key] = text;
        return kept;
    }

    private static string StreamUrl(HttpContext http, string conversationId, string token, string? watermark)
    {
        var scheme = http.Request.IsHttps ? "wss" : "ws";
        var url = new StringBuilder($"{scheme}://{http.Request.Host}{http.Request.PathBase}{Prefix}/conversations/{Uri.EscapeDataString(conversationId)}/stream?t={Uri.EscapeDataString(token)}");
        if (!string.IsNullOrEmpty(watermark)) url.Append("&watermark=").Append(Uri.EscapeDataString(watermark));
        return url.ToString();
    }

    private static int ExpiresIn(DirectLineServices dl) => (int)dl.Tokens.Lifetime.TotalSeconds;

    internal static JsonHttpResult<DirectLineError> Error(int status, string code, string message) =>
        TypedResults.Json(new DirectLineError(code, message), DirectLineJson.Options, statusCode: status);
}
