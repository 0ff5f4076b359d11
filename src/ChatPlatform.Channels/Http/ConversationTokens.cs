using System.Security.Cryptography;
using System.Text;
using ChatPlatform.Channels.DirectLine;

namespace ChatPlatform.Channels.Http;

/// <summary>What a conversation token grants: continuing one <c>/api/chat</c> conversation with one persona.</summary>
public sealed record ConversationGrant(string ConversationId, string Persona);

/// <summary>
/// Issues and checks the tokens that let a client of <c>POST /api/chat</c> continue the conversation it started.
/// They are signed like Direct Line tokens (the same HS256 code and the same key file), but with a key derived for
/// this purpose only, so a conversation token is never accepted as a Direct Line token or the other way round.
/// </summary>
public sealed class ConversationTokens
{
    /// <summary>How long a token stays valid; every turn answers with a fresh one.</summary>
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromDays(30);

    private static readonly byte[] Purpose = Encoding.ASCII.GetBytes("chatplatform:api-chat:conversation-token");
    private const string AnonymousUser = "web";

    private readonly DirectLineTokens _tokens;

    public ConversationTokens(byte[] key, TimeProvider time, TimeSpan? lifetime = null) =>
        _tokens = new DirectLineTokens(HKDF.DeriveKey(HashAlgorithmName.SHA256, key, 32, info: Purpose), time, lifetime ?? DefaultLifetime);

    public string Issue(string conversationId, string persona, string locale, string? userId) =>
        _tokens.Issue(conversationId, string.IsNullOrEmpty(userId) ? AnonymousUser : userId, persona, locale);

    /// <summary>The grant of a token this server signed that has not expired; null for anything else.</summary>
    public ConversationGrant? Check(string token) =>
        _tokens.Check(token, out var grant) == TokenCheck.Valid && !string.IsNullOrEmpty(grant!.Persona)
            ? new ConversationGrant(grant.ConversationId, grant.Persona)
            : null;
}
