namespace ChatPlatform.Safety;

/// <summary>
/// Writes a file whole or not at all: into a temporary file beside it, moved over the target only when the write
/// finished. A reader never sees half a weights file, and a failed write leaves the old file and no temporary one.
/// </summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var temporary = path + ".tmp";
        try
        {
            using (var stream = File.Create(temporary)) write(stream);
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
