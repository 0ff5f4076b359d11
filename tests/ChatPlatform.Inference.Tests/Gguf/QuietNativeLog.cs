using System.Runtime.CompilerServices;
using LLama.Native;

namespace ChatPlatform.Inference.Tests.Gguf;

/// <summary>Keeps llama.cpp's per-load chatter out of test output; errors still reach stderr.</summary>
internal static class QuietNativeLog
{
    [ModuleInitializer]
    internal static void Initialize() =>
        NativeLogConfig.llama_log_set((level, message) =>
        {
            if (level == LLamaLogLevel.Error)
            {
                Console.Error.Write(message);
            }
        });
}
