using LLama;
using LLama.Common;
using LLama.Native;
using Microsoft.Extensions.AI;

namespace ChatPlatform.Knowledge.Search;

/// <summary>
/// Text embeddings from a GGUF embedding model through LLamaSharp's <see cref="LLamaEmbedder"/> (mean pooling,
/// unit length). One context, used by one caller at a time.
/// </summary>
public sealed class LlamaEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly LLamaWeights _weights;
    private readonly LLamaEmbedder _embedder;
    private readonly SemaphoreSlim _gate = new(1, 1);

    public LlamaEmbeddingGenerator(string modelPath, int threads = 0)
    {
        var full = Path.GetFullPath(modelPath);
        var parameters = new ModelParams(full)
        {
            GpuLayerCount = 0,
            Embeddings = true,
            PoolingType = LLamaPoolingType.Mean,
            ContextSize = 2048,
            BatchSize = 2048,
            UBatchSize = 2048,
            Threads = threads > 0 ? threads : Math.Max(1, Environment.ProcessorCount),
        };
        _weights = LLamaWeights.LoadFromFile(parameters);
        _embedder = new LLamaEmbedder(_weights, parameters);
        ModelId = Path.GetFileName(full) + ":" + new FileInfo(full).Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Names the model file (and its size), so an index built with another model is rebuilt.</summary>
    public string ModelId { get; }

    public int Dimensions => _embedder.EmbeddingSize;

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var result = new GeneratedEmbeddings<Embedding<float>>();
        await _gate.WaitAsync(cancellationToken);
        try
        {
            foreach (var value in values)
            {
                // Long passages are cut to what one batch holds; the start of a passage carries its topic.
                var text = value.Length > 1500 ? value[..1500] : value;
                var vectors = await _embedder.GetEmbeddings(text, cancellationToken);
                result.Add(new Embedding<float>(Normalize(vectors[0])));
            }
        }
        finally
        {
            _gate.Release();
        }
        return result;
    }

    internal static float[] Normalize(float[] vector)
    {
        var norm = Math.Sqrt(vector.Sum(v => (double)v * v));
        if (norm == 0) return vector;
        return [.. vector.Select(v => (float)(v / norm))];
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType?.IsInstanceOfType(this) == true ? this : null;

    public void Dispose()
    {
        _embedder.Dispose();
        _weights.Dispose();
        _gate.Dispose();
    }
}
