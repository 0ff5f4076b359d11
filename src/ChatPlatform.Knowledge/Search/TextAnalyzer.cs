using System.Globalization;
using System.Text;
using JiebaNet.Segmenter;

namespace ChatPlatform.Knowledge.Search;

/// <summary>
/// Turns Chinese and English text into search terms. Han text is segmented into words with jieba (so 研究生申请 and
/// 申请研究生 share 研究生 and 申请); Latin text is lower-cased and lightly stemmed (applies, applied, applying → appli).
/// Both are cut in jieba's search mode, where long words also yield their parts (心理咨询师 → 心理, 咨询, 咨询师, 心理咨询师).
/// </summary>
public static class TextAnalyzer
{
    /// <summary>Folder in the build output that holds jieba's dictionary files.</summary>
    public const string DictionaryFolder = "jieba";

    private static readonly Lazy<JiebaSegmenter> s_segmenter = new(CreateSegmenter, LazyThreadSafetyMode.ExecutionAndPublication);

    private static JiebaSegmenter CreateSegmenter()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, DictionaryFolder);
        if (!File.Exists(Path.Combine(folder, "dict.txt")))
            throw new FileNotFoundException($"jieba's dictionary was not found in {folder}; it is copied there by the build of ChatPlatform.Knowledge.");
        ConfigManager.ConfigFileBaseDir = folder;
        return new JiebaSegmenter();
    }

    /// <summary>Loads the Chinese dictionary now rather than on the first question (about a second).</summary>
    public static void Warm() => _ = s_segmenter.Value;

    /// <summary>Terms of a document passage, in order, with repeats (for BM25).</summary>
    public static List<string> DocumentTerms(string text) => Terms(text, forSearch: true, dropStopWords: false);

    /// <summary>Distinct content terms of a question (stop words removed).</summary>
    public static List<string> QueryTerms(string text) => [.. Terms(text, forSearch: true, dropStopWords: true).Distinct(StringComparer.Ordinal)];

    /// <summary>
    /// Whether a Han term is a word jieba guessed from character statistics rather than found in its dictionary
    /// (药放冰箱 → 药放 | 冰箱: 药放 is such a guess).
    /// </summary>
    public static bool IsGuessedWord(string term)
    {
        ArgumentNullException.ThrowIfNull(term);
        if (term.Length < 2 || !term.All(IsHan)) return false;
        _ = s_segmenter.Value; // loads the dictionary
        return !WordDictionary.Instance.ContainsWord(term);
    }

    /// <summary>The characters of a Han term that are not stop words, each as a term.</summary>
    public static List<string> Characters(string term)
    {
        ArgumentNullException.ThrowIfNull(term);
        return [.. term.Select(c => c.ToString()).Where(c => !StopWords.Chinese.Contains(c)).Distinct(StringComparer.Ordinal)];
    }

    private static List<string> Terms(string text, bool forSearch, bool dropStopWords)
    {
        var terms = new List<string>();
        if (string.IsNullOrEmpty(text)) return terms;
        var normalized = text.Normalize(NormalizationForm.FormKC);
        var i = 0;
        while (i < normalized.Length)
        {
            var c = normalized[i];
            if (IsHan(c))
            {
                var start = i;
                while (i < normalized.Length && IsHan(normalized[i])) i++;
                var run = normalized[start..i];
                var words = forSearch ? s_segmenter.Value.CutForSearch(run) : s_segmenter.Value.Cut(run);
                foreach (var w in words)
                {
                    if (w.Length == 0 || (dropStopWords && StopWords.Chinese.Contains(w))) continue;
                    terms.Add(w);
                }
            }
            else if (char.IsLetterOrDigit(c))
            {
                var start = i;
                while (i < normalized.Length && (char.IsLetterOrDigit(normalized[i]) && !IsHan(normalized[i])
                    || normalized[i] == '\'' && i + 1 < normalized.Length && char.IsLetter(normalized[i + 1])))
                    i++;
                var word = normalized[start..i].ToLower(CultureInfo.InvariantCulture);
                var apostrophe = word.IndexOf('\'', StringComparison.Ordinal);
                if (apostrophe > 0) word = word[..apostrophe];
                if (dropStopWords && StopWords.English.Contains(word)) continue;
                terms.Add(Stemmer.Stem(word));
            }
            else
            {
                i++;
            }
        }
        return terms;
    }

    private static bool IsHan(char c) =>
        c is >= '\u4E00' and <= '\u9FFF' or >= '\u3400' and <= '\u4DBF' or >= '\uF900' and <= '\uFAFF';
}
