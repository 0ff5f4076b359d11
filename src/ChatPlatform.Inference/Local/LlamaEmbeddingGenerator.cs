using LLama;
using LLama.Common;
using LLama.Native;
using Microsoft.Extensions.AI;

namespace ChatPlatform.Inference.Local;

/// <summary>
/// Text embeddings from a GGUF model through LLamaSharp's <see cref="LLamaEmbedder"/> (mean pooling, unit length).
/// One context, used by one caller at a time. When the embedding model is the chat model's own file, the context runs
/// on the <see cref="LocalModel"/>'s weights, so the weights are in memory once.
/// </summary>
public sealed class LlamaEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly LLamaWeights _weights;
    private readonly bool _ownsWeights;
    private readonly LLamaEmbedder _embedder;
    private readonly EmbeddingGeneratorMetadata _metadata;
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Loads the model at <paramref name="modelPath"/> for this generator alone.</summary>
    public LlamaEmbeddingGenerator(string modelPath, int threads = 0)
        : this(Path.GetFullPath(modelPath), shared: null, threads)
    {
    }

    /// <summary>Embeds with the weights of an already loaded model; the model stays the owner of its weights.</summary>
    public LlamaEmbeddingGenerator(LocalModel model, int threads = 0)
        : this((model ?? throw new ArgumentNullException(nameof(model))).Path, model, threads)
    {
    }

    private LlamaEmbeddingGenerator(string full, LocalModel? shared, int threads)
    {
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
        _ownsWeights = shared is null;
        _weights = shared?.Weights ?? LLamaWeights.LoadFromFile(parameters);
        _embedder = new LLamaEmbedder(_weights, parameters);
        ModelId = Path.GetFileName(full) + ":" + new FileInfo(full).Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _metadata = new EmbeddingGeneratorMetadata("llama.cpp", defaultModelId: ModelId, defaultModelDimensions: _embedder.EmbeddingSize);
    }

    /// <summary>True when both paths name the same file (after resolving relative paths).</summary>
    public static bool IsSameFile(string a, string b) =>
        string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    /// <summary>Names the model file (and its size), so an index built with another model is rebuilt.</summary>
    public string ModelId { get; }

    public int Dimensions => _embedder.EmbeddingSize;

    /// <summary>True when the weights are another model's (loaded once for chat and embeddings).</summary>
    public bool SharesWeights => !_ownsWeights;

    internal LLamaWeights Weights => _weights;

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

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(EmbeddingGeneratorMetadata)) return _metadata;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    public void Dispose()
    {
        _embedder.Dispose();
        if (_ownsWeights) _weights.Dispose();
        _gate.Dispose();
    }
}
