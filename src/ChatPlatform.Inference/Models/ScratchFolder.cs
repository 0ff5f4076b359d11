namespace ChatPlatform.Inference.Models;

/// <summary>
/// The working folder of a long native job (a quantisation, a training run), beside the file it will produce and
/// hidden (<c>.NAME.GUID.partial</c>), removed when disposed. A process that ends while llama.cpp is still busy (the CLI
/// exits 3 s after Ctrl+C) skips its <c>finally</c> blocks, so the folder, which can hold a copy of a whole model, also
/// goes when the process exits.
/// </summary>
internal sealed class ScratchFolder : IDisposable
{
    private readonly EventHandler _removeOnExit;

    private ScratchFolder(string path)
    {
        Path = path;
        _removeOnExit = (_, _) => TryDelete(path);
        AppDomain.CurrentDomain.ProcessExit += _removeOnExit;
    }

    public string Path { get; }

    /// <summary>Makes the scratch folder for <paramref name="fullOutput"/> (and the output's folder if need be).</summary>
    public static ScratchFolder Create(string fullOutput)
    {
        var folder = System.IO.Path.GetDirectoryName(fullOutput)!;
        Directory.CreateDirectory(folder);
        var scratch = System.IO.Path.Combine(folder, $".{System.IO.Path.GetFileName(fullOutput)}.{Guid.NewGuid():N}.partial");
        Directory.CreateDirectory(scratch);
        return new ScratchFolder(scratch);
    }

    public void Dispose()
    {
        AppDomain.CurrentDomain.ProcessExit -= _removeOnExit;
        TryDelete(Path);
    }

    /// <summary>
    /// Removes <paramref name="folder"/> and what is in it, if it can: a file still open on a system that locks open
    /// files stays, and the caller removes it again once llama.cpp has let go of it.
    /// </summary>
    public static void TryDelete(string folder)
    {
        try
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
