using System.Text;
using System.Text.RegularExpressions;
using ChatPlatform.Safety.Text;

namespace ChatPlatform.Safety.Detection;

/// <summary>
/// Finds the words in a message that are someone else's: quoted spans ("my son said 'I wish I was dead'",
/// 病人说“活着没意思”) and speech reported after a verb of saying whose subject is someone else ("my brother told me
/// he's been thinking about suicide", 闺蜜最近总说活着没意思). A crisis cue found only there is a worry about another
/// person more often than the writer's own state, so the classifier weighs it instead of the cue firing on its own
/// (see <see cref="Detector"/>). A verb whose clause starts with the writer ("I told him I want to die",
/// 我跟他说我不想活了) reports the writer's own words, which stay.
/// </summary>
public static partial class ReportedSpeech
{
    /// <summary><paramref name="text"/> without the words reported from others, normalised; null when it has none.</summary>
    public static string? OwnWords(string text, TextNormalizer normalizer) => OwnWords(text) is { } own ? normalizer.Normalize(own) : null;

    /// <summary><paramref name="text"/> without the words reported from others; null when it has none.</summary>
    public static string? OwnWords(string text)
    {
        var folded = text.Normalize(NormalizationForm.FormKC);
        var unquoted = Quoted().Replace(folded, " ");
        var own = Reported().Replace(unquoted, m => IsSomeoneElse(unquoted, m) ? m.Groups["verb"].Value + " " : m.Value);
        return own == folded ? null : own;
    }

    /// <summary>Whether the speaker of a reported-speech match is someone other than the writer.</summary>
    private static bool IsSomeoneElse(string text, Match match)
    {
        var verb = match.Groups["verb"];
        var sentenceStart = text.LastIndexOfAny(s_sentenceEnds, Math.Max(0, verb.Index - 1)) + 1;
        var sentence = text[sentenceStart..verb.Index].ToLowerInvariant();
        var clauseStart = sentence.LastIndexOfAny(s_clauseEnds) + 1;
        var clause = sentence[clauseStart..].TrimStart();
        return Cues.SomeoneElse().IsMatch(sentence) && !WriterFirst().IsMatch(clause);
    }

    private static readonly char[] s_sentenceEnds = ['.', '!', '?', '\n', '。', '！', '？'];
    private static readonly char[] s_clauseEnds = [',', ';', '，', '；', '、'];
    private static readonly char[] s_clauseBreaks = [.. s_sentenceEnds, .. s_clauseEnds, ':', '：'];

    /// <summary>The clauses of <paramref name="text"/>: the spans between sentence and clause punctuation, unnormalised.</summary>
    public static string[] Clauses(string text) =>
        text.Normalize(NormalizationForm.FormKC).Split(s_clauseBreaks, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>
    /// A span in double quotes, CJK corner brackets, or single quotes that open after a non-letter and close before
    /// one (an apostrophe between letters, as in "I'd", stays inside the span). At most 200 characters, so an
    /// unmatched mark cannot swallow the message.
    /// </summary>
    [GeneratedRegex("\"[^\"\\n]{1,200}\"|\u201c[^\u201d\\n]{1,200}\u201d|\u300c[^\u300d\\n]{1,200}\u300d|\u300e[^\u300f\\n]{1,200}\u300f"
        + "|(?<![\\p{L}\\p{N}])['\u2018](?:[^'\u2018\u2019\\n]|(?<=\\p{L})['\u2019](?=\\p{L})){1,200}?['\u2019](?![\\p{L}\\p{N}])", RegexOptions.CultureInvariant)]
    private static partial Regex Quoted();

    /// <summary>A verb of saying and what follows it up to the end of the clause (English: of the sentence, or "but").</summary>
    [GeneratedRegex(@"(?<verb>\b(said|says|saying|told (me|us|him|her|them)|tells (me|us)|keeps? saying|kept saying|texted( me)?|messaged( me)?|posted|wrote|mentioned|admitted|confided|threatened)\b)(?<content>[^.!?;\n]*?)(?=\bbut\b|[.!?;\n]|$)"
        + @"|(?<verb>威胁(我)?说|(跟|对|和)(我|我们)说|告诉(我|我们)|发(消息|短信|微信|朋友圈|帖子)说|留言说|写道|扬言|提到|(?<![小听])说(?!实话|不定|明|出来|不出))(?<content>[^，。！？,.!?；;\n]*)",
        RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex Reported();

    /// <summary>A clause whose subject is the writer ("I told him", 我跟他说).</summary>
    [GeneratedRegex(@"^(i|we|and i|so i|then i|but i)\b|^(然后|但是|可是|所以|后来)?我(?!" + Cues.NotTheWriter + ")", RegexOptions.CultureInvariant)]
    private static partial Regex WriterFirst();
}
