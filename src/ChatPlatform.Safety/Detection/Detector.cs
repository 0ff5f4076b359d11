namespace ChatPlatform.Safety.Detection;

/// <summary>One family's finding on one text.</summary>
public readonly record struct DetectionResult(bool Fired, LexiconMatch Lexicon, float Score);

/// <summary>
/// A family's detector. The lexicon decides where it is sure: a strong cue fires. An exclusion (someone else, a
/// question about the topic, a figure of speech) is an input of the classifier, which learnt from every source how
/// far it lowers the score; it vetoes only where the family has no classifier. A phrase of one clause does not speak
/// for the whole message: "我妈只说了一句'你是不是想气死我'……我现在又想划了" holds a figure of speech and a disclosure,
/// and "how do I avoid the regulators" is no question about avoiding harm. A weak cue (a topic word such as "suicide") is one
/// input of the classifier (<see cref="FamilyModel"/>) in families whose <paramref name="weighsWeakCues"/> is set (see
/// <see cref="Rails.SafetyRules.WeighsWeakCues"/>): with the cues of who the message is about and whether it asks for
/// information, and in English the sentence embedding, it parts "what are the warning signs of suicide?" from "I feel
/// suicidal". It still fires on its own in a message that speaks of its writer ("I", 我, not "my son") and that the
/// embedder does not read (Chinese), unless the cue is only in words reported from someone else ("she said 'I want to
/// die'") or said of someone else in its clause ("看到同事自杀", see <see cref="Cues.SaidOfOthers"/>): there the n-grams
/// alone have not learnt to part a disclosure from a question. In other families a weak cue fires on its own.
/// </summary>
public sealed class Detector(string family, Lexicon lexicon, FamilyModel? classifier, bool weighsWeakCues = false)
{
    public string Family { get; } = family;

    public FamilyModel? Classifier { get; } = classifier;

    public DetectionResult Detect(MessageAnalysis message, float threshold)
    {
        var (match, reported) = Read(lexicon, message.Normalized, () => message.OwnWords, weighsWeakCues);
        if (match is LexiconMatch.Strong) return new DetectionResult(true, match, 1f);
        if (match is LexiconMatch.Excluded && Classifier is null) return new DetectionResult(false, match, 0f);
        if (match is LexiconMatch.Weak && !(weighsWeakCues && Classifier is not null
                && (reported || !message.SpeaksOfSelf || Classifier.ReadsMeaning(message) || Cues.SaidOfOthers(message.Clauses, lexicon))))
            return new DetectionResult(true, match, 1f);
        var score = Classifier?.Score(message, weakCue: match is LexiconMatch.Weak, excluded: match is LexiconMatch.Excluded) ?? 0f;
        return new DetectionResult(Classifier is not null && score >= threshold, match, score);
    }

    /// <summary>
    /// How a lexicon reads a message. In a family that weighs weak cues, a cue that matches only in the words the
    /// message reports from others (<paramref name="ownWords"/> gives the normalised text without them, see
    /// <see cref="ReportedSpeech"/>; asked for only when a cue matched) counts as a weak cue, and <c>Reported</c> says so.
    /// </summary>
    public static (LexiconMatch Match, bool Reported) Read(Lexicon lexicon, string normalized, Func<string?> ownWords, bool weighsWeakCues)
    {
        var match = lexicon.Match(normalized);
        if (!weighsWeakCues || match is not (LexiconMatch.Strong or LexiconMatch.Weak) || ownWords() is not { } words) return (match, false);
        var own = lexicon.Match(words);
        return own == match ? (match, false) : (LexiconMatch.Weak, true);
    }

    /// <summary>
    /// The decision for a lexicon match and a score as <see cref="Detect"/> gives them (a weak cue it did not weigh
    /// comes with score 1, an exclusion without a classifier with score 0): a strong cue fires, otherwise the score decides.
    /// </summary>
    public static bool Fires(LexiconMatch match, float score, float threshold) => match is LexiconMatch.Strong || score >= threshold;
}
