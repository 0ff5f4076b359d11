using System.Diagnostics.Metrics;

namespace ChatPlatform.Testing;

/// <summary>Every measurement of the meters one <see cref="IMeterFactory"/> made, with its attributes, for assertions.</summary>
public sealed class RecordedMeasurements : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = [];

    public RecordedMeasurements(IMeterFactory meters)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, meters)) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<int>((i, v, t, _) => Add(i, v, t));
        _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Add(i, v, t));
        _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Add(i, v, t));
        _listener.Start();
    }

    /// <summary>The measurements of one instrument, oldest first.</summary>
    public IReadOnlyList<(double Value, IReadOnlyDictionary<string, object?> Tags)> Of(string instrument)
    {
        lock (_measurements)
            return [.. _measurements.Where(m => m.Instrument == instrument).Select(m => (m.Value, (IReadOnlyDictionary<string, object?>)m.Tags))];
    }

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var tag in tags) copy[tag.Key] = tag.Value;
        lock (_measurements) _measurements.Add((instrument.Name, value, copy));
    }

    public void Dispose() => _listener.Dispose();
}
