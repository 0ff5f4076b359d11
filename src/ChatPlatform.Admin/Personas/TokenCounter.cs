using ChatPlatform.Core.Chat;

namespace ChatPlatform.Admin.Personas;

/// <summary>A text's length in tokens; <see cref="Exact"/> says whether the loaded model's tokenizer counted it.</summary>
public sealed record TokenCount(int Tokens, bool Exact);

/// <summary>
/// Counts tokens with the loaded model's tokenizer when the local backend runs; with a remote backend there is no
/// tokenizer here, so it estimates (about four characters per token for Latin text, one per CJK character).
/// </summary>
public sealed class TokenCounter(ILoadedModel? model = null)
{
    private readonly ILoadedModel _model = model ?? NoLoadedModel.Instance;

    public TokenCount Count(string? text)
    {
        if (string.IsNullOrEmpty(text)) return new TokenCount(0, _model.IsLoaded);
        if (_model.CountTokens(text) is { } tokens)
            return new TokenCount(tokens, true);
        return new TokenCount(Estimate(text), false);
    }

    public static int Estimate(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var cjk = text.Count(c => c is >= '\u3000' and <= '\u9fff' or >= '\uf900' and <= '\uffef');
        return cjk + (int)Math.Ceiling((text.Length - cjk) / 4.0);
    }
}
