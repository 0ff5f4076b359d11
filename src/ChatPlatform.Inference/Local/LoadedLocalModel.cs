using System.Text;
using ChatPlatform.Core.Chat;

namespace ChatPlatform.Inference.Local;

/// <summary>The <see cref="LocalModel"/> as the console sees it: its tokenizer and its architecture.</summary>
public sealed class LoadedLocalModel(LocalModel model) : ILoadedModel
{
    public bool IsLoaded => true;

    public string? Architecture => model.Architecture;

    public string? ModelPath => model.Path;

    public int? CountTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return model.Weights.Tokenize(text, false, false, Encoding.UTF8).Length;
    }
}
