namespace ChatPlatform.Core.Chat;

/// <summary>
/// What the console may ask of the base model this node runs: its tokenizer (for prompt lengths) and its architecture
/// (which adapters fit it). With a remote backend no model is loaded here, and <see cref="IsLoaded"/> says so.
/// </summary>
public interface ILoadedModel
{
    /// <summary>True when the model runs in this process; false with a remote backend.</summary>
    bool IsLoaded { get; }

    /// <summary>The model's architecture (GGUF <c>general.architecture</c>), or null when none is loaded here.</summary>
    string? Architecture { get; }

    /// <summary>The length of <paramref name="text"/> in the model's tokens, or null when none is loaded here.</summary>
    int? CountTokens(string text);

    /// <summary>The GGUF file the model was loaded from, or null when none is loaded here.</summary>
    string? ModelPath => null;
}

/// <summary>The answer of a node without a local model: nothing is loaded, nothing can be counted exactly.</summary>
public sealed class NoLoadedModel : ILoadedModel
{
    public static readonly NoLoadedModel Instance = new();

    private NoLoadedModel()
    {
    }

    public bool IsLoaded => false;

    public string? Architecture => null;

    public int? CountTokens(string text) => null;
}
