using ChatPlatform.Inference.Gguf;

namespace ChatPlatform.Inference.Local;

/// <summary>
/// Reads a GGUF file's header before llama.cpp sees it, so a missing, truncated, foreign or wrong-kind file gives a
/// message naming the file and the problem instead of a native failure.
/// </summary>
public static class ModelFileCheck
{
    public static GgufModelInfo EnsureModel(string path)
    {
        var info = Read(path);
        if (info.IsAdapter)
            throw new ModelLoadException($"{path}: this is a LoRA adapter, not a base model. Configure it as an adapter of a persona pack.");
        return info;
    }

    public static GgufModelInfo EnsureAdapter(string path)
    {
        var info = Read(path);
        if (!info.IsAdapter)
            throw new ModelLoadException($"{path}: this is a base model, not a LoRA adapter.");
        return info;
    }

    private static GgufModelInfo Read(string path)
    {
        if (!File.Exists(path))
            throw new ModelLoadException($"{path}: file not found.");
        try
        {
            return GgufFile.Read(path).Info;
        }
        catch (GgufFormatException e)
        {
            throw new ModelLoadException($"{path}: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new ModelLoadException($"{path}: cannot be read ({e.Message}).", e);
        }
    }
}
