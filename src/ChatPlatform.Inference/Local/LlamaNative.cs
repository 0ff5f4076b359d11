using LLama.Native;

namespace ChatPlatform.Inference.Local;

/// <summary>
/// One-time set-up of the native llama.cpp library: its chatty log goes nowhere except warnings and errors,
/// which are kept for the host's logger, and whole lines for a listener that asked for them (the quantiser's
/// progress). Call it before the first model load.
/// </summary>
public static class LlamaNative
{
    private static readonly Lock Gate = new();
    private static bool _configured;
    private static Action<LLamaLogLevel, string>? _lineListener;
    private static readonly System.Text.StringBuilder Pending = new();
    private static LLamaLogLevel _pendingLevel;

    /// <summary>Receives llama.cpp warnings and errors once <see cref="EnsureConfigured"/> has run.</summary>
    public static event Action<LLamaLogLevel, string>? NativeLog;

    public static void EnsureConfigured()
    {
        lock (Gate)
        {
            if (_configured) return;
            _configured = true;
            NativeLogConfig.llama_log_set(OnLog);
        }
    }

    /// <summary>
    /// Sends every complete line llama.cpp logs, at any level, to <paramref name="listener"/> until the result is
    /// disposed. llama.cpp writes some lines in pieces; they are joined here. One listener at a time.
    /// </summary>
    public static IDisposable ListenToLines(Action<LLamaLogLevel, string> listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        EnsureConfigured();
        lock (Gate)
        {
            if (_lineListener is not null) throw new InvalidOperationException("Another listener is already reading llama.cpp's log.");
            _lineListener = listener;
            Pending.Clear();
        }

        return new Subscription();
    }

    private static void OnLog(LLamaLogLevel level, string message)
    {
        if (level is LLamaLogLevel.Warning or LLamaLogLevel.Error)
            NativeLog?.Invoke(level, message.TrimEnd());

        List<(LLamaLogLevel, string)>? lines = null;
        Action<LLamaLogLevel, string>? listener;
        lock (Gate)
        {
            listener = _lineListener;
            if (listener is null) return;
            if (Pending.Length == 0) _pendingLevel = level is LLamaLogLevel.Continue ? LLamaLogLevel.Info : level;
            else if (level is not LLamaLogLevel.Continue && level > _pendingLevel) _pendingLevel = level;
            Pending.Append(message);
            var text = Pending.ToString();
            var end = text.LastIndexOf('\n');
            if (end < 0) return;
            lines = [.. text[..end].Split('\n').Select(line => (_pendingLevel, line.TrimEnd()))];
            Pending.Clear().Append(text[(end + 1)..]);
        }

        foreach (var (lineLevel, line) in lines)
            listener(lineLevel, line);
    }

    private sealed class Subscription : IDisposable
    {
        public void Dispose()
        {
            lock (Gate)
            {
                _lineListener = null;
                Pending.Clear();
            }
        }
    }
}
