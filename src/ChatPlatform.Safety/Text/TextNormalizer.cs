using System.Text;

namespace ChatPlatform.Safety.Text;

/// <summary>
/// Folds the ways people (and evaders) write the same words into one form the lexicons and the classifier see:
/// full-width to ASCII (NFKC), lower case, traditional to simplified characters, leetspeak digits inside Latin
/// words, punctuation to single spaces, no spaces between Chinese characters, and letters spelled out one by one
/// (<c>k i l l</c>) joined again.
/// </summary>
public sealed class TextNormalizer(IReadOnlyDictionary<char, char> traditionalToSimplified)
{
    /// <summary>Reads <c>t2s.txt</c>: one traditional and one simplified character per line, <c>#</c> comments.</summary>
    public static TextNormalizer Load(string path)
    {
        var map = new Dictionary<char, char>();
        foreach (var raw in File.ReadLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            if (line.Length != 2)
                throw new FormatException($"{path}: each line must be two characters (traditional, simplified), got '{line}'");
            map[line[0]] = line[1];
        }
        return new TextNormalizer(map);
    }

    public string Normalize(string text)
    {
        var folded = text.Normalize(NormalizationForm.FormKC);
        var sb = new StringBuilder(folded.Length + 2);
        for (var i = 0; i < folded.Length; i++)
        {
            var c = char.ToLowerInvariant(folded[i]);
            if (traditionalToSimplified.TryGetValue(c, out var simplified)) c = simplified;
            if (IsCjk(c))
            {
                // Spaces between two Chinese characters carry no meaning ("不 想 活").
                if (sb.Length > 1 && sb[^1] == ' ' && IsCjk(sb[^2])) sb.Length--;
                sb.Append(c);
            }
            else if (char.IsLetterOrDigit(c))
            {
                sb.Append(c);
            }
            else if (c is '\'' or '\u2019' or '\u02bc')
            {
                // "don't" and "dont" are one word.
            }
            else if (c is '@' or '$' && i > 0 && i + 1 < folded.Length && char.IsLetter(folded[i - 1]) && char.IsLetter(folded[i + 1]))
            {
                sb.Append(c == '@' ? 'a' : 's');
            }
            else if (IsCjkPunctuationBetweenCjk(sb, c))
            {
                // dropped: "自.杀" → "自杀"; a space is kept only between Latin words
            }
            else if (sb.Length > 0 && sb[^1] != ' ')
            {
                sb.Append(' ');
            }
        }
        while (sb.Length > 0 && sb[^1] == ' ') sb.Length--;
        return JoinSpelledOut(Deleet(sb.ToString()));
    }

    public static bool IsCjk(char c) => c is >= '\u4e00' and <= '\u9fff' or >= '\u3400' and <= '\u4dbf';

    private static bool IsCjkPunctuationBetweenCjk(StringBuilder sb, char c) =>
        sb.Length > 0 && IsCjk(sb[^1]) && (char.IsPunctuation(c) || char.IsSymbol(c) || char.IsWhiteSpace(c));

    /// <summary>Digits inside a word that also has letters read as letters: k1ll → kill, l1fe → life.</summary>
    private static string Deleet(string text)
    {
        if (!text.Any(char.IsAsciiDigit)) return text;
        var words = text.Split(' ');
        for (var w = 0; w < words.Length; w++)
        {
            var word = words[w];
            if (!word.Any(char.IsAsciiLetter) || !word.Any(char.IsAsciiDigit)) continue;
            // Keep codes like "b12", "4g", "2nd": only rewrite when letters dominate.
            if (word.Count(char.IsAsciiLetter) < 2) continue;
            words[w] = string.Create(word.Length, word, static (span, src) =>
            {
                for (var i = 0; i < src.Length; i++)
                    span[i] = src[i] switch { '0' => 'o', '1' => 'i', '3' => 'e', '4' => 'a', '5' => 's', '7' => 't', '@' => 'a', _ => src[i] };
            });
        }
        return string.Join(' ', words);
    }

    /// <summary>Runs of three or more single Latin letters are one word spelled out: "k i l l" → "kill".</summary>
    private static string JoinSpelledOut(string text)
    {
        var words = text.Split(' ');
        if (words.Length < 3) return text;
        var result = new List<string>(words.Length);
        var i = 0;
        while (i < words.Length)
        {
            var j = i;
            while (j < words.Length && words[j].Length == 1 && char.IsAsciiLetter(words[j][0])) j++;
            if (j - i >= 3)
            {
                result.Add(string.Concat(words[i..j]));
                i = j;
            }
            else
            {
                result.Add(words[i]);
                i++;
            }
        }
        return string.Join(' ', result);
    }
}
