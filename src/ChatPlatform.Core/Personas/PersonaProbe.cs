using System.Collections.Concurrent;
using System.Diagnostics;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Knowledge;
using ChatPlatform.Core.Safety;
using Microsoft.Extensions.AI;

namespace ChatPlatform.Core.Personas;

/// <summary>One reply of a trial turn and what produced it.</summary>
/// <param name="Rails">Rails that fired: input rails by name, <c>output</c> when the output rail replaced the reply.</param>
/// <param name="Passages">The sources the reply was grounded in (the retrieved passages, numbered as the reply cites them).</param>
public sealed record ProbeReply(
    string Text, string FinishReason, IReadOnlyList<string> Rails, IReadOnlyList<Citation> Passages,
    int? OutputTokens, double? TimeToFirstTokenMs, double? TokensPerSecond, string? Error);

/// <summary>The outcome of one eval conversation.</summary>
public sealed record EvalOutcome(string Id, string Locale, bool Passed, string Reason, string Reply, IReadOnlyList<string> Rails);

/// <summary>
/// Runs turns against any pack version (a draft or the live one) through the real pipeline
/// (<see cref="ChatPipeline.CreateTrial"/>): input rails, the shared model and its output rails. Turns go to a private
/// in-memory conversation store and raise no reviewer events, so trials never mix with real conversations. Knowledge
/// comes from the persona's documents, as for real turns. The console's playground and evals and
/// <c>chatplatform packs eval</c> all use it.
/// </summary>
public sealed class PersonaProbe(ChatPipeline pipeline)
{
    private readonly InMemoryConversationStore _store = new();

    /// <summary>Sends <paramref name="text"/> in a trial conversation, calling <paramref name="onDelta"/> as text arrives.</summary>
    public async Task<ProbeReply> SendAsync(PersonaPack pack, string conversationId, string text, string? locale, Action<string>? onDelta, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pack);
        var events = new CapturingSink();
        var orchestrator = pipeline.CreateTrial(pack, _store, events);
        var turn = new ChatTurn(pack.Id, conversationId, text, locale, "admin", null);
        var last = await _store.GetHistoryAsync(turn.Channel, conversationId, 1, cancellationToken);
        var before = last.Count == 0 ? 0 : last[^1].Sequence;
        var stopwatch = Stopwatch.StartNew();
        var start = await orchestrator.StartAsync(turn, cancellationToken: cancellationToken);
        if (start.Error is { } error)
            return new ProbeReply("", "error", [], [], null, null, null, $"{error.Code}: {error.Message}");

        var reply = new System.Text.StringBuilder();
        double? firstMs = null;
        ChatCompleted? done = null;
        string? failure = null;
        await foreach (var e in start.Events!.WithCancellation(cancellationToken))
        {
            switch (e)
            {
                case ChatDelta d:
                    firstMs ??= stopwatch.Elapsed.TotalMilliseconds;
                    reply.Append(d.Text);
                    onDelta?.Invoke(d.Text);
                    break;
                case ChatCompleted c:
                    done = c;
                    break;
                case ChatFailed f:
                    failure = $"{f.Error.Code}: {f.Error.Message}";
                    break;
            }
        }
        var total = stopwatch.Elapsed.TotalMilliseconds;
        // Rails that answered raise safety events; redaction raises none and shows only in the stored verdicts.
        var rails = events.Rails.Concat(_store.SafetyVerdictsAfter(turn.Channel, conversationId, before).Select(v => v.Split(':')[0]))
            .Distinct(StringComparer.Ordinal).ToList();
        if (done?.FinishReason == ChatFinishReason.ContentFilter.Value && !rails.Contains(SafetyRails.Output)) rails.Add(SafetyRails.Output);
        double? tps = done?.OutputTokens is > 0 && firstMs is { } first ? Math.Round(Rate(done.OutputTokens.Value, first, total), 1) : null;
        return new ProbeReply(done?.Text ?? reply.ToString(), done?.FinishReason ?? "error", rails, done?.Citations ?? [], done?.OutputTokens,
            firstMs is { } f1 ? Math.Round(f1, 1) : null, tps, failure);
    }

    /// <summary>
    /// Decoding speed: tokens after the first over the time after the first; when the text arrived in one burst
    /// (under 100 ms after the first token) that window says nothing, so the whole reply's time is used.
    /// </summary>
    public static double Rate(int tokens, double firstTokenMs, double totalMs)
    {
        var window = totalMs - firstTokenMs;
        return tokens > 1 && window >= 100 ? (tokens - 1) / (window / 1000.0) : tokens / (Math.Max(totalMs, 1) / 1000.0);
    }

    /// <summary>Runs every eval conversation of the pack and checks each expectation, in the pack's order.</summary>
    /// <param name="onOutcome">Called as each conversation is judged, so a long run shows progress.</param>
    public async Task<IReadOnlyList<EvalOutcome>> RunEvalsAsync(PersonaPack pack, Action<EvalOutcome>? onOutcome, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pack);
        var outcomes = new List<EvalOutcome>();
        foreach (var eval in pack.Evals)
        {
            var conversation = $"eval-{eval.Id}-{Guid.NewGuid():N}";
            ProbeReply reply;
            try
            {
                await _store.OpenAsync("admin", conversation, pack.Id, eval.Locale, null, cancellationToken);
                foreach (var turn in eval.Turns.Take(eval.Turns.Count - 1))
                    await _store.AppendAsync("admin", conversation, new StoredMessage(turn.Role, turn.Text, DateTimeOffset.UtcNow), null, cancellationToken);
                reply = await SendAsync(pack, conversation, eval.Turns[^1].Text, eval.Locale, null, cancellationToken);
            }
            finally
            {
                // Each eval is a conversation of its own, never continued: the probe lives as long as the server.
                _store.Remove("admin", conversation);
            }
            var (passed, reason) = Judge(eval.Expect, reply);
            var outcome = new EvalOutcome(eval.Id, eval.Locale, passed, reason, reply.Text, reply.Rails);
            outcomes.Add(outcome);
            onOutcome?.Invoke(outcome);
        }
        return outcomes;
    }

    /// <summary>Whether a reply meets an eval's expectation, and why not.</summary>
    public static (bool Passed, string Reason) Judge(EvalExpectation expect, ProbeReply reply)
    {
        ArgumentNullException.ThrowIfNull(expect);
        ArgumentNullException.ThrowIfNull(reply);
        if (reply.Error is not null) return (false, reply.Error);
        if (expect.Rail == EvalExpectation.NoRail && reply.Rails.Count > 0)
            return (false, $"expected no rail, but {string.Join(", ", reply.Rails)} fired");
        if (expect.Rail is { } rail && rail != EvalExpectation.NoRail && !reply.Rails.Contains(rail, StringComparer.Ordinal))
            return (false, $"expected the {rail} rail, got {(reply.Rails.Count == 0 ? "none" : string.Join(", ", reply.Rails))}");
        if (expect.ContainsAny.Count > 0 && !expect.ContainsAny.Any(s => reply.Text.Contains(s, StringComparison.OrdinalIgnoreCase)))
            return (false, $"the reply contains none of: {string.Join(" | ", expect.ContainsAny)}");
        if (expect.NotContains.FirstOrDefault(s => reply.Text.Contains(s, StringComparison.OrdinalIgnoreCase)) is { } banned)
            return (false, $"the reply contains '{banned}'");
        return (true, "passed");
    }

    private sealed class CapturingSink : ISafetyEventSink
    {
        private readonly ConcurrentQueue<string> _rails = new();

        public IEnumerable<string> Rails => _rails.Distinct(StringComparer.Ordinal);

        public ValueTask RecordAsync(SafetyEvent safetyEvent, CancellationToken cancellationToken)
        {
            _rails.Enqueue(safetyEvent.Rail);
            return ValueTask.CompletedTask;
        }
    }
}
