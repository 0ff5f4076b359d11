using ChatPlatform.Core.Configuration;
using ChatPlatform.Inference.Gguf;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Inference.Local;

/// <summary>
/// Finds the base model to load: the configured file, or else a small demo model generated once under the data
/// directory so that a fresh checkout runs end to end without downloading anything.
/// </summary>
public static partial class ModelLocator
{
    public const ulong DemoSeed = 7;
    public const string DemoFileName = "demo-tiny.gguf";

    public static string Resolve(ModelOptions model, string dataDirectory, ILogger logger)
    {
        var path = PathOf(model, dataDirectory);
        if (!string.IsNullOrWhiteSpace(model.Path))
            return path;

        // Written whole or not at all, also when several nodes sharing the data folder start at once.
        if (!File.Exists(path)) FixtureModels.WriteTiny(path, DemoSeed);
        LogDemoModel(logger, path);
        return path;
    }

    /// <summary>The file <see cref="Resolve"/> loads, without writing the demo model.</summary>
    public static string PathOf(ModelOptions model, string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(model);
        return !string.IsNullOrWhiteSpace(model.Path)
            ? Path.GetFullPath(model.Path)
            : Path.Combine(Path.GetFullPath(dataDirectory), "models", DemoFileName);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message =
        "No model is configured (ChatPlatform:Model:Path), so the generated demo model {Path} is used: it runs real inference but its words are meaningless. " +
        "To use a real model, download a Qwen2.5 instruct GGUF (e.g. qwen2.5-1.5b-instruct-q4_k_m.gguf) and set ChatPlatform:Model:Path in appsettings.json " +
        "or the environment variable ChatPlatform__Model__Path to its path.")]
    private static partial void LogDemoModel(ILogger logger, string path);
}
