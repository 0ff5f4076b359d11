using System.Security.Cryptography;
using ChatPlatform.Channels.Http;
using ChatPlatform.Core.Personas;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace ChatPlatform.Channels.DirectLine;

// Who may do what: the caller's secret or token checked, new conversations granted, a conversation opened for its caller.
public static partial class DirectLineApi
{
    /// <summary>Who is calling: a site's backend with a secret, or a client with a token for one conversation.</summary>
    private sealed record Caller(bool WithSecret, DirectLineGrant? Grant);

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
}
