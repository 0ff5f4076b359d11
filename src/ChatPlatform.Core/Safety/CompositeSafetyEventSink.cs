namespace ChatPlatform.Core.Safety;

/// <summary>Hands every event to each sink in turn: the store, and the notifier that logs and alerts on-call staff.</summary>
public sealed class CompositeSafetyEventSink(IReadOnlyList<ISafetyEventSink> sinks) : ISafetyEventSink
{
    public async ValueTask RecordAsync(SafetyEvent safetyEvent, CancellationToken cancellationToken)
    {
        foreach (var sink in sinks)
            await sink.RecordAsync(safetyEvent, cancellationToken);
    }
}
