using System.Globalization;
using System.Security.Cryptography;
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
using Microsoft.AspNetCore.WebUtilities;

namespace ChatPlatform.Channels.DirectLine;

/// <summary>
/// A Direct Line 3.0-compatible endpoint under <c>/v3/directline</c> (tokens, conversations, activities with
/// watermark, the WebSocket stream) so the official Web Chat bundle talks to the personas with no Azure in
/// between, plus <c>POST /api/widget/token</c>, which hands the embeddable widget a token without any secret.
/// </summary>
public static class DirectLineApi
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

    /// <summary>Who is calling: a site's backend with a secret, or a client with a token for one conversation.</summary>
    private sealed record Caller(bool WithSecret, DirectLineGrant? Grant);

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

    private static (DirectLineGrant? Grant, IResult? Refused) NewGrant(DirectLineServices dl, string? persona, string? userId, string? locale)
    {
        persona = string.IsNullOrWhiteSpace(persona)
            ? (dl.Options.Persona is { Length: > 0 } configured ? configured : dl.Personas.OfferedOn(ChannelNames.Web) is [var first, ..] ? first.Id : "")
            : persona;
        // A pack that does not offer itself on the web is unknown here, like a missing one.
        var pack = dl.Personas.FindOn(persona, ChannelNames.Web);
        if (pack is null)
            return (null, Error(StatusCodes.Status404NotFound, "unknown_persona", $"Unknown persona '{persona}'. Available: {dl.Personas.AvailableOn(ChannelNames.Web)}."));
        if (userId is { } id && (id.Length > 64 || id.Any(char.IsControl)))
            return (null, Error(StatusCodes.Status400BadRequest, "BadArgument", "user.id must be 1 to 64 printable characters."));
        return (new DirectLineGrant(NewId(), string.IsNullOrWhiteSpace(userId) ? "dl_" + NewId()[..16] : userId, pack.Id,
            locale is { Length: > 0 and <= 35 } ? locale : null, 0), null);
    }

    private static string NewId() => WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(18));

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

    /// <summary>
    /// Checks the bearer secret or token; a token must name <paramref name="conversationId"/> when one is given.
    /// Only the WebSocket stream, which browsers cannot give headers, takes a token in <c>?t=</c>, as Direct Line does;
    /// credentials in other URLs would end up in access logs, and a secret never goes in a URL.
    /// </summary>
    private static (Caller? Caller, IResult? Failure) Authorize(HttpContext http, DirectLineServices dl, string? conversationId, bool streamUrl = false)
    {
        var fromQuery = streamUrl && BearerOf(http) is null;
        var bearer = fromQuery ? (string?)http.Request.Query["t"] : BearerOf(http);
        if (string.IsNullOrEmpty(bearer))
            return (null, Error(StatusCodes.Status401Unauthorized, "Unauthorized", "Missing credentials: send 'Authorization: Bearer <token or secret>'."));
        if (dl.IsSecret(bearer))
            return fromQuery
                ? (null, Error(StatusCodes.Status401Unauthorized, "Unauthorized", "A secret is accepted only in the Authorization header, never in the URL."))
                : (new Caller(true, null), null);
        switch (dl.Tokens.Check(bearer, out var grant))
        {
            case TokenCheck.Invalid:
                return (null, Error(StatusCodes.Status401Unauthorized, "Unauthorized", "The token is not valid: it is malformed or was not issued by this server."));
            case TokenCheck.Expired:
                return (null, Error(StatusCodes.Status403Forbidden, "TokenExpired", "The token has expired: refresh it before it expires, or get a new one."));
        }
        if (dl.Personas.FindOn(grant!.Persona, ChannelNames.Web) is null)
            return (null, Error(StatusCodes.Status404NotFound, "unknown_persona", $"The token's persona '{grant.Persona}' is no longer offered."));
        if (conversationId is not null && !string.Equals(conversationId, grant.ConversationId, StringComparison.Ordinal))
            return (null, Error(StatusCodes.Status403Forbidden, "Forbidden", "The token is for another conversation."));
        return (new Caller(false, grant), null);
    }

    /// <summary>Authorises the caller for the conversation and returns it (rebuilt from the store when needed).</summary>
    private static async Task<(DirectLineConversation? Conversation, string? Token, IResult? Failure)> OpenAsync(
        HttpContext http, DirectLineServices dl, string conversationId, CancellationToken cancellationToken, bool streamUrl = false)
    {
        var (caller, failure) = Authorize(http, dl, conversationId, streamUrl);
        if (failure is not null) return (null, null, failure);
        if (caller!.Grant is { } grant)
            return (await dl.Conversations.GetOrCreateAsync(grant, cancellationToken), BearerOf(http) ?? http.Request.Query["t"], null);

        // A secret may reach any conversation this node holds; it gets a token for that conversation.
        var conversation = dl.Conversations.Find(conversationId);
        if (conversation is null)
            return (null, null, Error(StatusCodes.Status404NotFound, "NotFound", $"Conversation '{conversationId}' is not known here (it ended or never started)."));
        return (conversation, dl.Tokens.Issue(conversation.Id, conversation.UserId, conversation.Persona, conversation.Locale), null);
    }

    private static string? BearerOf(HttpContext http) => ChatHttp.BearerToken(http.Request);

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

/// <summary>What the Direct Line handlers share, in one injectable piece.</summary>
public sealed class DirectLineServices(
    DirectLineOptions options,
    DirectLineTokens tokens,
    DirectLineConversations conversations,
    DirectLineBot bot,
    IPersonaCatalog personas,
    TimeProvider time)
{
    private readonly byte[][] _secretHashes = options.Secrets.Select(s => SHA256.HashData(Encoding.UTF8.GetBytes(s))).ToArray();

    public DirectLineOptions Options => options;
    public DirectLineTokens Tokens => tokens;
    public DirectLineConversations Conversations => conversations;
    public DirectLineBot Bot => bot;
    public IPersonaCatalog Personas => personas;
    public TimeProvider Time => time;

    public bool IsSecret(string candidate)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(candidate));
        var match = false;
        foreach (var secret in _secretHashes)
            match |= CryptographicOperations.FixedTimeEquals(hash, secret);
        return match;
    }
}

/// <summary>Reads at most a given number of bytes from a request body, then fails with <see cref="InvalidDataException"/>.</summary>
internal sealed class LimitedStream(Stream inner, long limit) : Stream
{
    private long _read;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int Count(int n)
    {
        _read += n;
        if (_read > limit) throw new InvalidDataException($"The body is larger than {limit.ToString(CultureInfo.InvariantCulture)} bytes.");
        return n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
