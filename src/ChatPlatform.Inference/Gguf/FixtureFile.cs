using ChatPlatform.Core.IO;

namespace ChatPlatform.Inference.Gguf;

/// <summary>The one place fixture files are written: metadata, tensor declarations, then data streamed chunk by chunk.</summary>
internal static class FixtureFile
{
    private const int ChunkValues = 1 << 16;

    public const string SeedKey = "chatplatform.fixture.seed";
    public const string KindKey = "chatplatform.fixture.kind";

    /// <summary>
    /// Writes the file to a temporary name beside <paramref name="path"/> and renames it into place, so an
    /// interrupted run never leaves a half-written model behind. Each tensor draws from its own random stream
    /// (seed + tensor name), so the bytes depend only on the seed.
    /// </summary>
    public static void Write(
        string path,
        IReadOnlyList<KeyValuePair<string, GgufValue>> metadata,
        IReadOnlyList<FixtureTensor> tensors,
        ulong seed,
        IProgress<double>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        AtomicFile.Write(fullPath, temporary =>
        {
            using (var writer = GgufWriter.Create(temporary))
            {
                foreach (var (key, value) in metadata)
                {
                    writer.AddMetadata(key, value);
                }

                foreach (var tensor in tensors)
                {
                    writer.AddTensor(tensor.Name, tensor.Type, tensor.Dimensions);
                }

                writer.WriteHeader();
                var total = (double)writer.TotalLength;
                var reported = 0.0;
                progress?.Report(writer.BytesWritten / total);
                var chunk = new float[ChunkValues];
                foreach (var (tensor, info) in tensors.Zip(writer.Tensors))
                {
                    var random = FixtureRandom.For(seed, tensor.Name);
                    for (long first = 0; first < info.ElementCount; first += ChunkValues)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        var values = chunk.AsSpan(0, (int)Math.Min(ChunkValues, info.ElementCount - first));
                        tensor.Fill(values, first, random);
                        writer.WriteTensorData(values);
                        var done = writer.BytesWritten / total;
                        if (progress is not null && done - reported >= 0.005)
                        {
                            reported = done;
                            progress.Report(done);
                        }
                    }
                }

                writer.Complete();
            }
        });
        progress?.Report(1.0);
    }
}
