using System.Text.RegularExpressions;

namespace ChatPlatform.Safety.Detection;

/// <summary>How a lexicon saw a text.</summary>
public enum LexiconMatch
{
    None,
    /// <summary>An exclusion matched (figurative, third-person, informational use): it cancels any cue.</summary>
    Excluded,
    /// <summary>A weak cue matched and no exclusion did.</summary>
    Weak,
    /// <summary>A strong cue matched: it fires on its own.</summary>
    Strong,
}

/// <summary>
/// Regular expressions from a file under <c>safety/lexicons/</c>, matched against normalised text.
/// A plain line is a strong cue, <c>~</c> a weak cue, <c>!</c> an exclusion, <c>#</c> a comment.
/// </summary>
public sealed class Lexicon
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(2);
    private readonly Regex[] _strong;
    private readonly Regex[] _weak;
    private readonly Regex[] _exclude;

    public Lexicon(IEnumerable<string> lines, string name = "lexicon")
    {
        var strong = new List<Regex>();
        var weak = new List<Regex>();
        var exclude = new List<Regex>();
        var number = 0;
        foreach (var raw in lines)
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var (list, pattern) = line[0] switch
            {
                '!' => (exclude, line[1..]),
                '~' => (weak, line[1..]),
                _ => (strong, line),
            };
            try
            {
                var regex = new Regex(pattern, RegexOptions.CultureInvariant, s_timeout);
                // Interpreted: hundreds of short patterns load in milliseconds; match once so the first message pays nothing.
                regex.IsMatch("warm up 预热");
                list.Add(regex);
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException)
            {
                throw new FormatException($"{name}:{number}: bad pattern: {e.Message}", e);
            }
        }
        _strong = [.. strong];
        _weak = [.. weak];
        _exclude = [.. exclude];
    }

    public static Lexicon Load(string path) => new(File.ReadLines(path), Path.GetFileName(path));

    public LexiconMatch Match(string normalized)
    {
        // A match that runs out of time counts as a cue (fail closed) but never as an exclusion.
        var excluded = Any(_exclude, normalized, onTimeout: false);
        if (excluded) return LexiconMatch.Excluded;
        if (Any(_strong, normalized, onTimeout: true)) return LexiconMatch.Strong;
        return Any(_weak, normalized, onTimeout: true) ? LexiconMatch.Weak : LexiconMatch.None;
    }

    /// <summary>
    /// Where the weak cues match in <paramref name="normalized"/>, in no particular order. A pattern that runs out of
    /// time gives position 0: the whole text counts as before the cue.
    /// </summary>
    public IEnumerable<int> WeakCuePositions(string normalized)
    {
        foreach (var p in _weak)
        {
            var positions = new List<int>();
            try
            {
                for (var m = p.Match(normalized); m.Success; m = m.NextMatch()) positions.Add(m.Index);
            }
            catch (RegexMatchTimeoutException)
            {
                positions.Add(0);
            }
            foreach (var position in positions) yield return position;
        }
    }

    private static bool Any(Regex[] patterns, string text, bool onTimeout)
    {
        foreach (var p in patterns)
        {
            try
            {
                if (p.IsMatch(text)) return true;
            }
            catch (RegexMatchTimeoutException)
            {
                // A pathological input must not stall the chat, nor slip past the rails.
                return onTimeout;
            }
        }
        return false;
    }
}
