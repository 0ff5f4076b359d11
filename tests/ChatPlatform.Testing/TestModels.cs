using ChatPlatform.Inference.Gguf;

namespace ChatPlatform.Testing;

/// <summary>
/// Fixture models shared by all test projects: written once per test process (seed <see cref="Seed"/>) into a
/// temporary folder that is deleted when the process exits. Access is thread-safe; the first access writes the file.
/// </summary>
public static class TestModels
{
    public const ulong Seed = 7;

    private static readonly Lazy<string> Folder = new(CreateFolder);
    private static readonly Lazy<string> Tiny = new(() => Write("tiny.gguf", path => FixtureModels.WriteTiny(path, Seed)));
    private static readonly Lazy<string> Lora = new(() => Write("tiny-lora.gguf", path => FixtureModels.WriteLora(TinyPath, path, Seed)));

    /// <summary>The per-process folder the fixtures are written to.</summary>
    public static string FolderPath => Folder.Value;

    /// <summary>The tiny llama-architecture chat model (ChatML template, context 8192).</summary>
    public static string TinyPath => Tiny.Value;

    /// <summary>A rank-4 LoRA adapter for <see cref="TinyPath"/>.</summary>
    public static string LoraPath => Lora.Value;

    /// <summary>A fresh, empty folder under <see cref="FolderPath"/> for a test's own files.</summary>
    public static string CreateScratchFolder()
    {
        var path = Path.Combine(FolderPath, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    private static string CreateFolder()
    {
        var path = Path.Combine(Path.GetTempPath(), $"chatplatform-test-models-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: the temp folder is cleaned by the OS eventually.
            }
            catch (UnauthorizedAccessException)
            {
            }
        };
        return path;
    }

    private static string Write(string fileName, Action<string> write)
    {
        var path = Path.Combine(FolderPath, fileName);
        write(path);
        return path;
    }
}
