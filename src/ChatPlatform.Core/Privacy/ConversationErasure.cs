using System.Security.Cryptography;
using System.Text;

namespace ChatPlatform.Core.Privacy;

/// <summary>
/// How an erased conversation is named outside the store: a hash of its channel and id, so the audit log and the
/// notices between processes carry nothing that identifies the person, while every copy in memory can still be found.
/// </summary>
public static class ConversationKeys
{
    public static string Hash(string channel, string conversationId) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(channel + "\n" + conversationId)))[..32];
}

/// <summary>
/// Something that keeps a copy of conversations in memory (the Direct Line transcript, the prompt cache) and drops
/// it when the conversation is erased from the store.
/// </summary>
public interface IConversationForgetter
{
    /// <summary>Drops every copy of the conversations with these <see cref="ConversationKeys.Hash"/> keys.</summary>
    void Forget(IReadOnlySet<string> conversationKeys);
}
