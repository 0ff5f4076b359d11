using System.Diagnostics.Metrics;

namespace ChatPlatform.Testing;

/// <summary>A meter factory of its own, as a host has one: listeners can tell its meters from every other test's.</summary>
public sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
        lock (_meters) _meters.Add(meter);
        return meter;
    }

    public void Dispose()
    {
        lock (_meters)
        {
            foreach (var meter in _meters) meter.Dispose();
            _meters.Clear();
        }
    }
}
