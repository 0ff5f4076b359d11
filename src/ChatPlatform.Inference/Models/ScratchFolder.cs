namespace ChatPlatform.Inference.Models;

/// <summary>The working folder of a long native job (a quantisation, a training run), removed when the job ends.</summary>
internal static class ScratchFolder
{
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
