namespace ChatPlatform.Safety.Detection;

/// <summary>One family's finding on one text.</summary>
public readonly record struct DetectionResult(bool Fired, LexiconMatch Lexicon, float Score);

/// <summary>
/// A family's detector: the lexicon decides where it is sure (a strong cue fires, an exclusion vetoes the
/// classifier), the character n-gram classifier catches phrasings the lexicon does not list.
/// </summary>
public sealed class Detector(string family, Lexicon lexicon, NgramClassifier? classifier)
{
    public string Family { get; } = family;

    public DetectionResult Detect(string normalized, float threshold)
    {
        var match = lexicon.Match(normalized);
        var score = classifier?.Score(normalized) ?? 0f;
        var fired = match switch
        {
            LexiconMatch.Strong or LexiconMatch.Weak => true,
            LexiconMatch.Excluded => false,
            _ => classifier is not null && score >= threshold,
        };
        return new DetectionResult(fired, match, score);
    }
}
