using LLama.Native;

namespace ChatPlatform.Inference.Local;

/// <summary>
/// One-time set-up of the native llama.cpp library: its chatty log goes nowhere except warnings and errors,
/// which are kept for the host's logger. Call it before the first model load.
/// </summary>
public static class LlamaNative
{
    private static readonly Lock Gate = new();
    private static bool _configured;

    /// <summary>Receives llama.cpp warnings and errors once <see cref="EnsureConfigured"/> has run.</summary>
    public static event Action<LLamaLogLevel, string>? NativeLog;

    public static void EnsureConfigured()
    {
        lock (Gate)
        {
            if (_configured) return;
            _configured = true;
            NativeLogConfig.llama_log_set((level, message) =>
            {
                if (level is LLamaLogLevel.Warning or LLamaLogLevel.Error)
                    NativeLog?.Invoke(level, message.TrimEnd());
            });
        }
    }
}
