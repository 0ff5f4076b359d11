namespace ChatPlatform.Safety.Detection;

/// <summary>One family's finding on one text.</summary>
public readonly record struct DetectionResult(bool Fired, LexiconMatch Lexicon, float Score);

/// <summary>
/// A family's detector. The lexicon decides where it is sure: a strong cue fires, an exclusion (someone else, a
/// question about the topic, a figure of speech) vetoes everything. A weak cue (a topic word such as "suicide") fires on
/// its own unless the sentence embedder reads the message: then it is one input of the classifier
/// (<see cref="FamilyModel"/>), which reads meaning and can part "what are the warning signs of suicide?" from "I feel
/// suicidal". Chinese is not embedded, and there the n-grams cannot part them safely, so the cue still fires.
/// Only families whose <paramref name="weighsWeakCues"/> is set weigh them (see <see cref="Rails.SafetyRules.WeighsWeakCues"/>).
/// </summary>
public sealed class Detector(string family, Lexicon lexicon, FamilyModel? classifier, bool weighsWeakCues = false)
{
    public string Family { get; } = family;

    public FamilyModel? Classifier { get; } = classifier;

    public DetectionResult Detect(MessageAnalysis message, float threshold)
    {
        var match = lexicon.Match(message.Normalized);
        if (match is LexiconMatch.Strong) return new DetectionResult(true, match, 1f);
        if (match is LexiconMatch.Excluded) return new DetectionResult(false, match, 0f);
        if (match is LexiconMatch.Weak && !(weighsWeakCues && Classifier is not null && Classifier.ReadsMeaning(message)))
            return new DetectionResult(true, match, 1f);
        var score = Classifier?.Score(message, weakCue: match is LexiconMatch.Weak) ?? 0f;
        return new DetectionResult(Classifier is not null && score >= threshold, match, score);
    }

    /// <summary>
    /// The decision for a lexicon match and a score as <see cref="Detect"/> gives them (a weak cue it did not weigh
    /// comes with score 1): a strong cue fires, an exclusion never does, otherwise the score decides.
    /// </summary>
    public static bool Fires(LexiconMatch match, float score, float threshold) => match switch
    {
        LexiconMatch.Strong => true,
        LexiconMatch.Excluded => false,
        _ => score >= threshold,
    };
}
