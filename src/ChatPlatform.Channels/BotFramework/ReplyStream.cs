using Microsoft.Bot.Builder;
using Microsoft.Bot.Schema;
using Newtonsoft.Json.Linq;

namespace ChatPlatform.Channels.BotFramework;

/// <summary>
/// Streams one reply into a Teams one-to-one chat with the <c>streaminfo</c> protocol: cumulative <c>typing</c>
/// updates (the first one's id is the stream id) at most once per second, then a final <c>message</c> with
/// <c>streamType: final</c>. Updates stop before Teams' two-minute stream limit; a final message too late for the
/// stream, or after the channel refused an update, is sent as a plain message. A reply that finishes before <see cref="BotFrameworkOptions.StreamAfterMilliseconds"/>
/// is sent whole, with no stream.
/// </summary>
internal sealed class ReplyStream(ITurnContext turnContext, BotFrameworkOptions options, TimeProvider time, long turnStarted)
{
    private string? _streamId;
    private long _streamStarted;
    private long _lastSent;
    private int _sequence;
    private bool _stopped;
    private bool _failed;

    public string? StreamId => _streamId;

    /// <summary>Whether an update may go out now: the reply has run long enough, the second has passed, the stream is open.</summary>
    public bool WantsUpdate()
    {
        if (_stopped)
            return false;
        if (_streamId is null)
            return time.GetElapsedTime(turnStarted) >= TimeSpan.FromMilliseconds(options.StreamAfterMilliseconds);
        if (time.GetElapsedTime(_streamStarted) >= TimeSpan.FromSeconds(options.StreamMaxSeconds))
        {
            _stopped = true;
            return false;
        }
        return time.GetElapsedTime(_lastSent) >= PersonaBot.StreamUpdateInterval;
    }

    public async Task UpdateAsync(string textSoFar, CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        var update = new Activity
        {
            Type = ActivityTypes.Typing,
            Text = textSoFar,
            Entities = [StreamInfo(_streamId, "streaming", ++_sequence)],
            ChannelData = ChannelData(_streamId, "streaming", _sequence),
        };
        ResourceResponse? response;
        try
        {
            response = await turnContext.SendActivityAsync(update, cancellationToken);
        }
        catch (ErrorResponseException)
        {
            // Teams refuses updates it will not show (403 ContentStreamNotAllowed, throttling): the reply then
            // arrives whole, as a new message.
            _stopped = true;
            _failed = true;
            return;
        }
        _lastSent = now;
        if (_streamId is null)
        {
            _streamId = response?.Id;
            _streamStarted = now;
            // Without an id the channel cannot continue a stream: the reply arrives whole.
            _stopped = _streamId is null;
        }
    }

    /// <summary>Sends the whole reply; returns the ids the channel knows it by (for reactions).</summary>
    public async Task<IReadOnlyList<string?>> FinishAsync(string text, CancellationToken cancellationToken)
    {
        if (_streamId is null || _failed || time.GetElapsedTime(_streamStarted) >= PersonaBot.StreamFinalLimit)
            return [(await turnContext.SendActivityAsync(MessageFactory.Text(text), cancellationToken))?.Id, _streamId];

        var wait = PersonaBot.StreamUpdateInterval - time.GetElapsedTime(_lastSent);
        if (wait > TimeSpan.Zero)
            await Task.Delay(wait, time, cancellationToken);
        var final = new Activity
        {
            Type = ActivityTypes.Message,
            Text = text,
            Entities = [StreamInfo(_streamId, "final", null)],
            ChannelData = ChannelData(_streamId, "final", null),
        };
        var response = await turnContext.SendActivityAsync(final, cancellationToken);
        return [response?.Id, _streamId];
    }

    private static Entity StreamInfo(string? streamId, string streamType, int? sequence)
    {
        var properties = new JObject { ["streamType"] = streamType };
        if (streamId is not null) properties["streamId"] = streamId;
        if (sequence is { } s) properties["streamSequence"] = s;
        return new Entity("streaminfo") { Properties = properties };
    }

    /// <summary>The same fields in channelData, where Web Chat's livestreaming reads them.</summary>
    private static JObject ChannelData(string? streamId, string streamType, int? sequence)
    {
        var data = new JObject { ["streamType"] = streamType };
        if (streamId is not null) data["streamId"] = streamId;
        if (sequence is { } s) data["streamSequence"] = s;
        return data;
    }
}
