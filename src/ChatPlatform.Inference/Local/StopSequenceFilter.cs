using System.Text;

namespace ChatPlatform.Inference.Local;

/// <summary>
/// Releases streamed text only once it cannot be the start of a stop sequence, and reports when one is reached.
/// The stop sequence itself is never released.
/// </summary>
public sealed class StopSequenceFilter(IReadOnlyList<string> stops)
{
    private readonly StringBuilder _pending = new();

    public bool Stopped { get; private set; }

    /// <summary>Adds decoded text; returns what may be shown now.</summary>
    public string Push(string text)
    {
        if (Stopped || text.Length == 0) return "";
        _pending.Append(text);
        if (stops.Count == 0) return Drain(_pending.Length);

        var current = _pending.ToString();
        var cut = -1;
        foreach (var stop in stops)
        {
            if (stop.Length == 0) continue;
            var at = current.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        if (cut >= 0)
        {
            Stopped = true;
            var released = current[..cut];
            _pending.Clear();
            return released;
        }

        // Hold back the longest tail that is a prefix of some stop sequence.
        var hold = 0;
        foreach (var stop in stops)
            for (var n = Math.Min(stop.Length - 1, current.Length); n > hold; n--)
                if (current.AsSpan(current.Length - n).SequenceEqual(stop.AsSpan(0, n))) { hold = n; break; }
        return Drain(current.Length - hold);
    }

    /// <summary>Releases anything held back (the reply ended without a stop sequence).</summary>
    public string Flush() => Stopped ? "" : Drain(_pending.Length);

    private string Drain(int count)
    {
        if (count <= 0) return "";
        var text = _pending.ToString(0, count);
        _pending.Remove(0, count);
        return text;
    }
}
