using System.Collections.Concurrent;
using LLama;
using LLama.Common;
using LLama.Native;

namespace ChatPlatform.Inference.Local;

/// <summary>
/// One base model loaded once and shared by every persona, with the LoRA adapters loaded for it (once per file).
/// </summary>
public sealed class LocalModel : IDisposable
{
    private readonly ConcurrentDictionary<string, LoraAdapter> _adapters = new(StringComparer.Ordinal);
    private readonly Lock _adapterGate = new();

    private LocalModel(string path, LLamaWeights weights)
    {
        Path = path;
        Weights = weights;
        Name = weights.Metadata.TryGetValue("general.name", out var name) && !string.IsNullOrWhiteSpace(name)
            ? name
            : System.IO.Path.GetFileNameWithoutExtension(path);
        Architecture = weights.Metadata.GetValueOrDefault("general.architecture", "unknown");
        TrainedContext = weights.ContextSize;
    }

    public string Path { get; }
    public string Name { get; }
    public string Architecture { get; }
    public int TrainedContext { get; }
    public LLamaWeights Weights { get; }

    /// <summary>Loads a GGUF model. A file that is missing or not a usable model gives an error naming the file and the problem.</summary>
    public static LocalModel Load(string path, int threads)
    {
        var full = System.IO.Path.GetFullPath(path);
        ModelFileCheck.EnsureModel(full);
        LlamaNative.EnsureConfigured();
        var parameters = new ModelParams(full) { GpuLayerCount = 0, Threads = threads };
        LLamaWeights weights;
        try
        {
            weights = LLamaWeights.LoadFromFile(parameters);
        }
        catch (Exception e) when (e is LLama.Exceptions.LoadWeightsFailedException or InvalidOperationException)
        {
            throw new ModelLoadException($"{full}: llama.cpp could not load this model ({e.Message}).", e);
        }
        return new LocalModel(full, weights);
    }

    /// <summary>The adapter loaded for this model from <paramref name="path"/>, loading it on first use.</summary>
    public LoraAdapter GetAdapter(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (_adapters.TryGetValue(full, out var adapter)) return adapter;
        lock (_adapterGate)
        {
            if (_adapters.TryGetValue(full, out adapter)) return adapter;
            ModelFileCheck.EnsureAdapter(full);
            try
            {
                adapter = Weights.NativeHandle.LoadLoraFromFile(full);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new ModelLoadException($"{full}: the LoRA adapter does not fit model '{Name}' ({e.Message}).", e);
            }
            _adapters[full] = adapter;
            return adapter;
        }
    }

    /// <summary>True once the weights are released; nothing may call into them after that.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    private int _disposed;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var adapter in _adapters.Values) adapter.Unload();
        _adapters.Clear();
        Weights.Dispose();
    }
}

/// <summary>A model or adapter file that cannot be used; the message names the file and what is wrong.</summary>
public sealed class ModelLoadException(string message, Exception? inner = null) : Exception(message, inner);
