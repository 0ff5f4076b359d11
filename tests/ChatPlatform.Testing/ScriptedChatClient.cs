using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace ChatPlatform.Testing;

/// <summary>
/// A chat client that answers with scripted chunks and records what it was asked,
/// for tests of code above the inference core.
/// </summary>
public sealed class ScriptedChatClient(params string[] chunks) : IChatClient
{
    public List<(List<ChatMessage> Messages, ChatOptions? Options)> Calls { get; } = [];

    /// <summary>A pause before each chunk, to stand in for a model that takes its time.</summary>
    public TimeSpan ChunkDelay { get; set; }

    /// <summary>Thrown on the first read instead of answering, when set.</summary>
    public Exception? FailWith { get; set; }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Calls.Add((messages.ToList(), options));
        if (FailWith is not null) throw FailWith;
        foreach (var chunk in chunks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (ChunkDelay > TimeSpan.Zero)
                await Task.Delay(ChunkDelay, cancellationToken);
            else
                await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, chunk);
        }
        yield return new ChatResponseUpdate { Role = ChatRole.Assistant, FinishReason = ChatFinishReason.Stop };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
