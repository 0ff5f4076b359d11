using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using ChatPlatform.Channels.Http;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Knowledge;
using ChatPlatform.Core.Personas;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Channels.DirectLine;

/// <summary>
/// The persona's side of a Direct Line conversation: runs each user message through the
/// <see cref="ChatOrchestrator"/> (rails, crisis protocol, store) in the background and posts the reply as it
/// streams: a typing activity, livestreaming updates (<c>streamType</c> streaming, cumulative text) and the final
/// message, with the reply's sources appended as a Markdown list. A busy core gets an explicit busy answer that says when to try again.
/// </summary>
public sealed partial class DirectLineBot(
    ChatOrchestrator orchestrator,
    DirectLineConversations conversations,
    IPersonaCatalog personas,
    DirectLineOptions options,
    IHostApplicationLifetime lifetime,
    ILogger<DirectLineBot> logger) : IAsyncDisposable, IDisposable
{
    /// <summary>Marks a busy answer in <c>channelData</c>, with <c>retryAfterSeconds</c> beside it.</summary>
    public const string BusyKey = "chatplatform:busy";

    /// <summary>Marks a refused or failed turn in <c>channelData</c>; the value is the error code.</summary>
    public const string ErrorKey = "chatplatform:error";

    /// <summary>The final message's sources in <c>channelData</c>: <c>[{index, id, title, section, page, url}]</c>, as on <c>/api/chat</c>.</summary>
    public const string CitationsKey = "chatplatform:citations";

    private int _running;
    private readonly ConcurrentDictionary<Task, byte> _turns = new();

    /// <summary>How long shutting down waits for turns that are still answering.</summary>
    public static readonly TimeSpan ShutdownWait = TimeSpan.FromSeconds(10);

    /// <summary>Turns in progress (queued behind another turn of the same conversation included).</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Starts answering <paramref name="message"/>, stored at <paramref name="stored"/>, and returns at once.</summary>
    public void Answer(DirectLineConversation conversation, DirectLineActivity message, int stored, string text, string? locale)
    {
        Interlocked.Increment(ref _running);
        var turn = Task.Run(async () =>
        {
            try
            {
                await conversation.TurnGate.WaitAsync(lifetime.ApplicationStopping);
                try
                {
                    await AnswerAsync(conversation, message, stored, text, locale, lifetime.ApplicationStopping);
                }
                finally
                {
                    conversation.TurnGate.Release();
                }
            }
            catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                LogTurnFailed(logger, e, conversation.Id);
                await conversations.AddReplyAsync(conversation, null, Reply(conversation, message, Apology(conversation.Locale), error: "internal_error"), CancellationToken.None);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        });
        _turns.TryAdd(turn, 0);
        _ = turn.ContinueWith(t => _turns.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>
    /// Waits (up to <see cref="ShutdownWait"/>) for the turns still answering, which the application's stopping token
    /// has cancelled, so that none of them reaches the model or the store after those are released: the container
    /// disposes this bot before the services it was built from.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        var pending = _turns.Keys.ToArray();
        if (pending.Length == 0) return;
        await Task.WhenAny(Task.WhenAll(pending), Task.Delay(ShutdownWait)).ConfigureAwait(false);
    }

    /// <summary>The same wait for a container disposed synchronously.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    internal async Task AnswerAsync(DirectLineConversation conversation, DirectLineActivity message, int stored, string text, string? locale, CancellationToken cancellationToken)
    {
        // The previous turn may have ended because the application is stopping: then this one does not start.
        cancellationToken.ThrowIfCancellationRequested();
        var pack = personas.Find(conversation.Persona)!;
        var turn = new ChatTurn(pack.Id, conversation.Id, text, pack.ResolveLocale(locale ?? conversation.Locale), DirectLineApi.ChannelId, conversation.UserId)
        {
            StoredSequence = stored,
        };
        var start = await orchestrator.StartAsync(turn, cancellationToken: cancellationToken);
        if (start.Error is { } error)
        {
            var reply = Reply(conversation, message, error.TryLater ? Busy(turn.Locale!, start.RetryAfter) : error.Message, error: error.Code);
            if (error.TryLater)
            {
                reply.ChannelData![BusyKey] = true;
                reply.ChannelData["retryAfterSeconds"] = ChatHttp.RetryAfterSeconds(start.RetryAfter ?? TimeSpan.FromSeconds(5));
            }
            // Not stored: the message stays in the transcript unanswered and can be sent again.
            await conversations.AddReplyAsync(conversation, null, reply, CancellationToken.None);
            return;
        }

        await conversations.PushAsync(conversation, new DirectLineActivity { Type = "typing", From = Bot(pack), ReplyToId = message.Id });
        var streamed = new StringBuilder();
        string? streamId = null;
        var sequence = 0;
        var interval = TimeSpan.FromSeconds(options.StreamUpdateSeconds);
        var sinceUpdate = Stopwatch.StartNew();
        var sent = 0;
        await foreach (var e in start.Events!.WithCancellation(cancellationToken))
        {
            switch (e)
            {
                case ChatDelta delta:
                    streamed.Append(delta.Text);
                    if (sinceUpdate.Elapsed >= interval && streamed.Length > sent)
                    {
                        var chunk = await conversations.PushAsync(conversation, StreamChunk(pack, message, streamed.ToString(), streamId, ++sequence));
                        streamId ??= chunk.Id;
                        sent = streamed.Length;
                        sinceUpdate.Restart();
                    }
                    break;
                case ChatCompleted completed:
                    // The streamed updates carry the reply alone; the final message adds its sources, which Web Chat
                    // shows as a list of links (Markdown) and other clients can read from channelData.
                    var final = Reply(conversation, message, completed.Text + CitationFooter.Format(completed.Citations, CitationMarkup.Markdown));
                    if (completed.Citations.Count > 0)
                        final.ChannelData![CitationsKey] = Sources(completed.Citations);
                    await conversations.AddReplyAsync(conversation, completed.Sequence, Final(final, streamId), CancellationToken.None);
                    return;
                case ChatFailed failed:
                    var partial = streamed.Length > 0 ? streamed + "\n\n" : "";
                    await conversations.AddReplyAsync(conversation, failed.Sequence,
                        Final(Reply(conversation, message, partial + failed.Error.Message, error: failed.Error.Code), streamId), CancellationToken.None);
                    return;
            }
        }
    }

    public static DirectLineActivity BotMessage(PersonaPack pack, string text) =>
        new() { Type = "message", From = Bot(pack), Text = text, TextFormat = "markdown" };

    private DirectLineActivity Reply(DirectLineConversation conversation, DirectLineActivity message, string text, string? error = null)
    {
        var reply = BotMessage(personas.Find(conversation.Persona)!, text);
        reply.ReplyToId = message.Id;
        reply.Recipient = message.From;
        reply.Locale = conversation.Locale;
        reply.ChannelData = [];
        if (error is not null) reply.ChannelData[ErrorKey] = error;
        return reply;
    }

    private static DirectLineActivity StreamChunk(PersonaPack pack, DirectLineActivity message, string text, string? streamId, int sequence)
    {
        var channelData = new JsonObject { ["streamType"] = "streaming", ["streamSequence"] = sequence };
        var info = new JsonObject { ["type"] = "streaminfo", ["streamType"] = "streaming", ["streamSequence"] = sequence };
        if (streamId is not null)
        {
            channelData["streamId"] = streamId;
            info["streamId"] = streamId;
        }
        return new DirectLineActivity
        {
            Type = "typing", From = Bot(pack), Text = text, ReplyToId = message.Id, ChannelData = channelData, Entities = [info],
        };
    }

    /// <summary>The final message of a livestream carries its stream id, so Web Chat replaces the updates with it.</summary>
    private static DirectLineActivity Final(DirectLineActivity reply, string? streamId)
    {
        if (streamId is null) return reply;
        reply.ChannelData!["streamId"] = streamId;
        reply.ChannelData["streamType"] = "final";
        reply.Entities = [new JsonObject { ["type"] = "streaminfo", ["streamId"] = streamId, ["streamType"] = "final" }];
        return reply;
    }

    private static JsonArray Sources(IReadOnlyList<Citation> citations) =>
        new([.. citations.Select(JsonNode? (c) => new JsonObject
        {
            ["index"] = c.Number, ["id"] = c.Id, ["title"] = c.Title, ["section"] = c.Section, ["page"] = c.Page, ["url"] = c.Link,
        })]);

    private static ChannelAccount Bot(PersonaPack pack) => new(pack.Id, pack.Name, "bot");

    private static bool IsChinese(string locale) => locale.StartsWith("zh", StringComparison.OrdinalIgnoreCase);

    private static string Busy(string locale, TimeSpan? retryAfter) => ChatHttp.BusyMessage(retryAfter, locale);

    private static string Apology(string locale) => IsChinese(locale)
        ? "抱歉，出了点问题，没能回复这条消息。请稍后再试。"
        : "Sorry, something went wrong and this message was not answered. Please try again.";

    [LoggerMessage(Level = LogLevel.Error, Message = "A Direct Line turn failed in conversation {ConversationId}")]
    private static partial void LogTurnFailed(ILogger logger, Exception exception, string conversationId);
}
