using System.Runtime.CompilerServices;
using ChatPlatform.Inference.Local;

namespace ChatPlatform.Inference.Tests.Gguf;

/// <summary>Keeps llama.cpp's load log out of test output, also for tests that load weights directly.</summary>
internal static class QuietNativeLog
{
    [ModuleInitializer]
    internal static void Initialize() => LlamaNative.EnsureConfigured();
}
