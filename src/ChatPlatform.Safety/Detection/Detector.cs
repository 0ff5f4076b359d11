namespace ChatPlatform.Safety.Detection;

/// <summary>One family's finding on one text.</summary>
public readonly record struct DetectionResult(bool Fired, LexiconMatch Lexicon, float Score);

/// <summary>
/// A family's detector: the lexicon decides where it is sure (a strong cue fires, an exclusion vetoes the
/// classifier), the trained classifier (<see cref="FamilyModel"/>) catches phrasings the lexicon does not list.
/// </summary>
public sealed class Detector(string family, Lexicon lexicon, FamilyModel? classifier)
{
    public string Family { get; } = family;

    public FamilyModel? Classifier { get; } = classifier;

    public DetectionResult Detect(MessageAnalysis message, float threshold)
    {
        var match = lexicon.Match(message.Normalized);
        // A strong cue decides without the classifier (and without the embedding it may need).
        if (match is LexiconMatch.Strong) return new DetectionResult(true, match, 1f);
        var score = Classifier?.Score(message) ?? 0f;
        var fired = Classifier is null ? match == LexiconMatch.Weak : Fires(match, score, threshold);
        return new DetectionResult(fired, match, score);
    }

    /// <summary>
    /// The decision for a lexicon match and a classifier score: a strong cue fires; a weak cue (the topic is there,
    /// not yet who or how) halves the classifier's threshold; an exclusion (someone else, a question about the topic,
    /// a figure of speech) cancels every cue and the classifier; otherwise the classifier decides.
    /// </summary>
    public static bool Fires(LexiconMatch match, float score, float threshold) => match switch
    {
        LexiconMatch.Strong => true,
        LexiconMatch.Weak => score >= threshold / 2,
        LexiconMatch.Excluded => false,
        _ => score >= threshold,
    };
}
