using System.Runtime.CompilerServices;
using ChatPlatform.Core.Chat;
using Microsoft.Extensions.AI;

namespace ChatPlatform.Core.Metrics;

/// <summary>
/// Counts the replies in progress through it and the "busy" refusals of the backend behind it
/// (<see cref="ChatPlatformMetrics"/>). Placed outermost, so a reply counts from its admission to its last word; time
/// and tokens are measured by the OpenTelemetry middleware inside it.
/// </summary>
public sealed class MetricsChatClient(IChatClient inner, ChatPlatformMetrics metrics) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        metrics.ReplyStarted();
        try
        {
            return await base.GetResponseAsync(messages, options, cancellationToken);
        }
        catch (Exception e) when (IsBusy(e))
        {
            metrics.RecordBusyRefusal();
            throw;
        }
        finally
        {
            metrics.ReplyEnded();
        }
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        metrics.ReplyStarted();
        try
        {
            await using var enumerator = base.GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
            while (true)
            {
                try
                {
                    if (!await enumerator.MoveNextAsync()) break;
                }
                catch (Exception e) when (IsBusy(e))
                {
                    metrics.RecordBusyRefusal();
                    throw;
                }
                yield return enumerator.Current;
            }
        }
        finally
        {
            metrics.ReplyEnded();
        }
    }

    private static bool IsBusy(Exception e) => e is ChatRejectedException { Error.Kind: ChatErrorKind.Busy };
}
