namespace ChatPlatform.Inference.Local;

/// <summary>Checks a GGUF file before llama.cpp sees it, so a bad file gives a clear message instead of a native failure.</summary>
public static class ModelFileCheck
{
    public static void EnsureModel(string path) => Ensure(path, expectAdapter: false);

    public static void EnsureAdapter(string path) => Ensure(path, expectAdapter: true);

    private static void Ensure(string path, bool expectAdapter)
    {
        if (!File.Exists(path))
            throw new ModelLoadException($"{path}: file not found.");
        // Replaced by the full GGUF reader's validation.
        Span<byte> magic = stackalloc byte[4];
        using var stream = File.OpenRead(path);
        if (stream.Read(magic) < 4 || !magic.SequenceEqual("GGUF"u8))
            throw new ModelLoadException($"{path}: not a GGUF file.");
        _ = expectAdapter;
    }
}
