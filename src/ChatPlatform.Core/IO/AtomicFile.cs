namespace ChatPlatform.Core.IO;

/// <summary>
/// Writes a file whole or not at all: into a temporary file beside it, moved over the target only when the write
/// finished. A reader never sees half a file, a failed write leaves the old file and no temporary one, and two
/// writers of one path at once (two nodes sharing a data folder) each write their own temporary file.
/// </summary>
public static class AtomicFile
{
    /// <param name="write">Writes the whole file to the temporary path it is given.</param>
    public static void Write(string path, Action<string> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var temporary = $"{path}.{Guid.NewGuid():N}.partial";
        try
        {
            write(temporary);
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <param name="write">Writes the whole file to the stream it is given.</param>
    public static void Write(string path, Action<Stream> write) => Write(path, temporary =>
    {
        using var stream = File.Create(temporary);
        write(stream);
    });
}
