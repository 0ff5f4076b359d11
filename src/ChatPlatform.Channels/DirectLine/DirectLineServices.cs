using System.Security.Cryptography;
using System.Text;
using ChatPlatform.Core.Personas;

namespace ChatPlatform.Channels.DirectLine;

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
