using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace ChatPlatform.Core.Metrics;

/// <summary>
/// Measures every reply that passes through it for <see cref="ChatMetrics"/>: time to the first text the caller sees,
/// output tokens per second, replies in progress and "busy" refusals. Place it outermost to measure what users see.
/// </summary>
public sealed class MetricsChatClient(IChatClient inner, ChatMetrics metrics) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        metrics.Enter();
        try
        {
            var response = await base.GetResponseAsync(messages, options, cancellationToken);
            var elapsed = Stopwatch.GetElapsedTime(started);
            metrics.RecordReply(elapsed, (int)(response.Usage?.OutputTokenCount ?? 0), elapsed);
            return response;
        }
        catch (Exception e) when (ChatMetrics.IsBusy(e))
        {
            metrics.RecordBusy();
            throw;
        }
        finally
        {
            metrics.Exit();
        }
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        TimeSpan? first = null;
        long? usageTokens = null;
        var updates = 0;
        metrics.Enter();
        try
        {
            await using var enumerator = base.GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
            while (true)
            {
                try
                {
                    if (!await enumerator.MoveNextAsync()) break;
                }
                catch (Exception e) when (ChatMetrics.IsBusy(e))
                {
                    metrics.RecordBusy();
                    throw;
                }
                var update = enumerator.Current;
                if (update.Contents.OfType<TextContent>().Any(t => t.Text.Length > 0))
                {
                    first ??= Stopwatch.GetElapsedTime(started);
                    updates++;
                }
                if (update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details.OutputTokenCount is { } tokens)
                    usageTokens = tokens;
                yield return update;
            }
            if (first is { } ttft)
                metrics.RecordReply(ttft, (int)(usageTokens ?? updates), Stopwatch.GetElapsedTime(started) - ttft);
        }
        finally
        {
            metrics.Exit();
        }
    }
}
