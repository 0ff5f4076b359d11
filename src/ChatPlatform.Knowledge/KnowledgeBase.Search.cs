using ChatPlatform.Core.Knowledge;
using ChatPlatform.Core.Personas;
using ChatPlatform.Knowledge.Search;

namespace ChatPlatform.Knowledge;

// Search: BM25 over the index's terms fused with dense similarity, and the curated answer that matches best.
public sealed partial class KnowledgeBase
{
    /// <summary>Rank constant of reciprocal rank fusion (the usual 60).</summary>
    public const int FusionK = 60;

    /// <summary>Cosine similarity a passage found only by meaning needs to count as relevant.</summary>
    public const double DenseMinSimilarity = 0.6;

    private const int Candidates = 20;

    /// <summary>How much a passage's coverage of the question's words weighs against its fused rank.</summary>
    private const double CoverageBoost = 0.5;

    /// <summary>Rarity weight of a word in half the entries: commoner words are not worth matching on.</summary>
    private const double CommonWordWeight = 0.69;

    /// <summary>Index size from which common words are left out of the match.</summary>
    private const long PruneFromEntries = 2000;

    public async Task<KnowledgeLookup> LookupAsync(PersonaPack pack, string question, string locale, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pack);
        var ranking = await RankAsync(pack.Id, question, pack.Knowledge, pack.Knowledge.TopK, cancellationToken);
        if (ranking.Curated is { } curated)
        {
            await CountHitAsync(curated.SourceId, cancellationToken);
            return new KnowledgeLookup(new CuratedMatch(curated.Id, curated.Title, curated.Text, curated.Score), []);
        }
        return new KnowledgeLookup(null, [.. ranking.Passages.Where(p => p.Relevant).Select(p =>
            new KnowledgePassage(p.Id, p.Text, p.Title, p.Section, p.Page, p.Link, p.Score))]);
    }

    /// <summary>
    /// Ranks a persona's passages for a question: BM25 over segmented terms, fused with dense similarity by reciprocal
    /// rank when an embedding model is configured. Also reports the best curated answer when it is above the threshold.
    /// </summary>
    public async Task<Ranking> RankAsync(string personaId, string question, KnowledgeSettings settings, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        await EnsureIndexAsync(personaId, cancellationToken: cancellationToken);
        var vocabulary = _index.Vocabulary();
        // jieba guesses words it does not know from character statistics (药放冰箱 → 药放 | 冰箱); a guess that no entry
        // holds is searched by its characters instead, each like a lone character below.
        var terms = TextAnalyzer.QueryTerms(question)
            .SelectMany(t => TextAnalyzer.IsGuessedWord(t) && !vocabulary.Contains(t) ? TextAnalyzer.Characters(t) : [t])
            .Distinct(StringComparer.Ordinal).ToList();
        if (terms.Count == 0) return new Ranking(null, []);
        var weights = vocabulary.TermWeights(terms);
        var totalWeight = terms.Sum(t => weights[t]);

        RankedItem? curated = null;
        foreach (var hit in _index.Search(personaId, IndexEntry.Curated, terms, 10))
        {
            var similarity = Similarity(terms, TextAnalyzer.QueryTerms(hit.Entry.Title), weights);
            if (similarity >= settings.CuratedThreshold && (curated is null || similarity > curated.Score))
                curated = new RankedItem(hit.Entry.Key, IndexEntry.Curated, hit.Entry.SourceId, hit.Entry.Title, null, null, null, hit.Entry.Text, similarity, true);
        }

        // A question word may be found through the words documents use for it (Synonyms: 晚上 → 非开放时间, cost → fee);
        // a lone Han character without synonyms also searches the words that contain it (约 → 预约). A word counts as
        // covered by any of its alternatives whose words are all in a passage. Alternatives the index lacks are left out.
        var expansions = terms.ToDictionary(t => t, t => Alternatives(vocabulary, t), StringComparer.Ordinal);
        var searchTerms = terms.Concat(expansions.Values.SelectMany(a => a).SelectMany(a => a)).Distinct(StringComparer.Ordinal).ToList();
        // Words in most passages add almost nothing to BM25 but make it score nearly every row: they are left out of
        // the match (not out of coverage), keeping at least the rarest word. The words a lone character stands for are
        // judged the same way (the most frequent ones come first, and they are the costliest to score).
        // Only in large indexes: in a small one every word is "common" and each still tells passages apart.
        var searchWeights = vocabulary.TermWeights(searchTerms);
        var matchTerms = vocabulary.Entries < PruneFromEntries ? searchTerms
            : searchTerms.Where(t => searchWeights[t] >= CommonWordWeight).ToList();
        if (matchTerms.Count == 0)
            matchTerms = [searchTerms.MaxBy(t => searchWeights[t])!];
        var lexical = _index.Search(personaId, IndexEntry.Passage, matchTerms, Candidates);
        bool Covers(IReadOnlyCollection<string> entryTerms, string term) =>
            entryTerms.Contains(term) || expansions[term].Any(alternative => alternative.All(entryTerms.Contains));
        var fused = new Dictionary<long, double>();
        for (var i = 0; i < lexical.Count; i++)
            fused[lexical[i].RowId] = 1.0 / (FusionK + i + 1);
        var cosine = new Dictionary<long, double>();
        if (_embedder is not null)
        {
            var query = (await _embedder.GenerateAsync([question], cancellationToken: cancellationToken))[0].Vector.ToArray();
            var dense = Vectors(personaId)
                .Select(v => (v.RowId, Cosine: Dot(query, v.Vector)))
                .OrderByDescending(v => v.Cosine).Take(Candidates).ToList();
            for (var i = 0; i < dense.Count; i++)
            {
                cosine[dense[i].RowId] = dense[i].Cosine;
                fused[dense[i].RowId] = fused.GetValueOrDefault(dense[i].RowId) + 1.0 / (FusionK + i + 1);
            }
        }

        var known = lexical.ToDictionary(h => h.RowId, h => (h.Entry, Terms: (IReadOnlyCollection<string>)h.Terms));
        foreach (var (id, value) in _index.Get([.. fused.Keys.Where(k => !known.ContainsKey(k))]))
            known[id] = (value.Entry, value.Terms);

        // The fused rank decides, but a candidate holding more of the question's rare words is lifted: short questions
        // often match many passages through one common word, and coverage tells those apart from the real answer.
        var passages = fused.Select(f =>
        {
            var (entry, entryTerms) = known[f.Key];
            var coverage = totalWeight <= 0 ? 0 : terms.Where(t => Covers(entryTerms, t)).Sum(t => weights[t]) / totalWeight;
            var relevant = coverage >= settings.MinRelevance || cosine.GetValueOrDefault(f.Key) >= DenseMinSimilarity;
            return new RankedItem(entry.Key, IndexEntry.Passage, entry.SourceId, entry.Title, entry.Section, entry.Page, entry.Link, entry.Text,
                f.Value * (CoverageBoost + coverage), relevant)
            {
                Coverage = coverage,
            };
        }).OrderByDescending(p => p.Score).Take(limit).ToList();
        return new Ranking(curated, passages);
    }

    private static List<string[]> Alternatives(IndexVocabulary vocabulary, string term)
    {
        var synonyms = Synonyms.For(term);
        if (synonyms.Count > 0) return [.. synonyms.Where(a => a.All(vocabulary.Contains))];
        return term.Length == 1 && term[0] > '\u2E80' ? [.. vocabulary.WordsContaining(term).Select(w => new[] { w })] : [];
    }

    /// <summary>Cosine of the two term sets, each term weighted by its rarity.</summary>
    private static double Similarity(List<string> a, List<string> b, Dictionary<string, double> weights)
    {
        if (a.Count == 0 || b.Count == 0) return 0;
        double Weight(string t) => weights.TryGetValue(t, out var w) ? w : weights.Count > 0 ? weights.Values.Max() : 1;
        var setB = new HashSet<string>(b, StringComparer.Ordinal);
        var shared = a.Where(setB.Contains).Sum(t => Weight(t) * Weight(t));
        var na = Math.Sqrt(a.Sum(t => Weight(t) * Weight(t)));
        var nb = Math.Sqrt(setB.Sum(t => Weight(t) * Weight(t)));
        return na == 0 || nb == 0 ? 0 : shared / (na * nb);
    }

    private List<(long RowId, float[] Vector)> Vectors(string personaId)
    {
        var stamp = _index.GetStamp(personaId) ?? "";
        if (_vectors.TryGetValue(personaId, out var cached) && cached.Stamp == stamp) return cached.Vectors;
        var vectors = _index.Vectors(personaId);
        _vectors[personaId] = (stamp, vectors);
        return vectors;
    }

    private static double Dot(float[] a, float[] b)
    {
        var n = Math.Min(a.Length, b.Length);
        double sum = 0;
        for (var i = 0; i < n; i++) sum += a[i] * b[i];
        return sum;
    }
}

/// <summary>A ranked passage or curated answer. <see cref="Relevant"/>: enough of the question's words (or meaning) is in it.</summary>
public sealed record RankedItem(string Id, string Kind, long SourceId, string Title, string? Section, int? Page, string? Link, string Text, double Score, bool Relevant)
{
    public double Coverage { get; init; }
}

public sealed record Ranking(RankedItem? Curated, IReadOnlyList<RankedItem> Passages)
{
    /// <summary>Ids in rank order: the curated answer first when one matched, then the passages.</summary>
    public IReadOnlyList<string> Ids => [.. (Curated is null ? [] : new[] { Curated.Id }).Concat(Passages.Select(p => p.Id))];
}
