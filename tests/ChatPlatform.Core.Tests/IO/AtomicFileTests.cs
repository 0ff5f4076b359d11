using ChatPlatform.Core.IO;
using Xunit;

namespace ChatPlatform.Core.Tests.IO;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("chatplatform-atomic-file-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Write_FailingHalfway_KeepsTheOldFileAndLeavesNoTemporaryOne()
    {
        var path = Path.Combine(_dir, "rails.bin");
        File.WriteAllText(path, "old");

        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write("new, half"u8);
            throw new InvalidOperationException("disk full");
        }));

        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void Write_Finished_ReplacesTheFile()
    {
        var path = Path.Combine(_dir, "rails.bin");
        File.WriteAllText(path, "old");

        AtomicFile.Write(path, stream => stream.Write("new"u8));

        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void Write_ToAPath_FailingHalfway_LeavesNoTemporaryFile()
    {
        var path = Path.Combine(_dir, "model.gguf");

        Assert.Throws<IOException>(() => AtomicFile.Write(path, temporary =>
        {
            File.WriteAllText(temporary, "half a model");
            throw new IOException("cancelled");
        }));

        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public async Task Write_TwoWritersOfOnePathAtOnce_EachWritesWholeAndOneWins()
    {
        var path = Path.Combine(_dir, "demo.gguf");
        using var bothStarted = new Barrier(2);
        var contents = new[] { new string('a', 100_000), new string('b', 100_000) };

        var overlapped = new bool[2];
        var writers = contents.Select((text, i) => Task.Factory.StartNew(() => AtomicFile.Write(path, temporary =>
        {
            File.WriteAllText(temporary, text[..50_000]);
            // Both are half-way through their own temporary file before either finishes.
            overlapped[i] = bothStarted.SignalAndWait(TimeSpan.FromSeconds(30));
            File.AppendAllText(temporary, text[50_000..]);
        }), TestContext.Current.CancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        await Task.WhenAll(writers);

        Assert.Equal([true, true], overlapped);
        Assert.Contains(File.ReadAllText(path), contents);
        Assert.Equal([path], Directory.GetFiles(_dir));
    }
}
