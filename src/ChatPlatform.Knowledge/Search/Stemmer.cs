namespace ChatPlatform.Knowledge.Search;

/// <summary>
/// A light English stemmer (plurals, -ing, -ed, -ly, -ment, -ation and final y), enough for questions and passages
/// to meet on one form: "applications", "applied" and "apply" all become "appli".
/// </summary>
internal static class Stemmer
{
    public static string Stem(string word)
    {
        if (word.Length <= 3 || !word.All(c => c is >= 'a' and <= 'z')) return word;
        var w = word;
        if (w.EndsWith("sses", StringComparison.Ordinal)) w = w[..^2];
        else if (w.EndsWith("ies", StringComparison.Ordinal)) w = w[..^3] + "i";
        else if (w.EndsWith('s') && !w.EndsWith("ss", StringComparison.Ordinal) && !w.EndsWith("us", StringComparison.Ordinal) && !w.EndsWith("is", StringComparison.Ordinal)) w = w[..^1];

        if (w.EndsWith("ied", StringComparison.Ordinal) && w.Length > 4) w = w[..^3] + "i";
        else if (w.EndsWith("ing", StringComparison.Ordinal) && w.Length > 5 && HasVowel(w[..^3])) w = Undouble(w[..^3]);
        else if (w.EndsWith("ed", StringComparison.Ordinal) && w.Length > 4 && HasVowel(w[..^2])) w = Undouble(w[..^2]);

        foreach (var (suffix, keep) in Suffixes)
        {
            if (w.Length - suffix.Length >= 4 && w.EndsWith(suffix, StringComparison.Ordinal))
            {
                w = w[..^suffix.Length] + keep;
                break;
            }
        }
        if (w.EndsWith('y') && w.Length > 3) w = w[..^1] + "i";
        if (w.EndsWith('e') && w.Length > 4) w = w[..^1];
        return w;
    }

    private static readonly (string Suffix, string Keep)[] Suffixes =
    [
        ("ational", "ate"), ("ization", "ize"), ("ation", "ate"), ("ments", ""), ("ment", ""), ("ness", ""), ("fully", ""),
        ("ful", ""), ("ously", "ous"), ("ly", ""),
    ];

    private static bool HasVowel(string s) => s.Any(c => c is 'a' or 'e' or 'i' or 'o' or 'u' or 'y');

    /// <summary>stopped → stop, but fall, miss and buzz keep their double letter.</summary>
    private static string Undouble(string s) =>
        s.Length > 3 && s[^1] == s[^2] && s[^1] is not ('l' or 's' or 'z') ? s[..^1] : s;
}
