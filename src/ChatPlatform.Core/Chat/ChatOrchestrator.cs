using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Knowledge;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using Microsoft.Extensions.AI;

namespace ChatPlatform.Core.Chat;

/// <summary>
/// Runs one user turn for any channel: checks the request, loads the persona and the conversation,
/// runs the input rails (which may answer by themselves, with no model call), builds the prompt
/// (system prompt, history, new message), streams the reply and stores both messages.
/// </summary>
public sealed class ChatOrchestrator(
    IPersonaCatalog personas,
    IChatClient chatClient,
    IConversationStore store,
    ChatPlatformOptions options,
    IInputSafety? inputSafety = null,
    ISafetyEventSink? safetyEvents = null,
    IKnowledgeRetriever? knowledge = null,
    ChatDrain? drain = null,
    ChatPlatform.Core.Metrics.ChatPlatformMetrics? metrics = null)
{
    public const int MaxConversationIdLength = 128;

    /// <summary>Finish reason of a reply the input rails wrote instead of the model.</summary>
    public const string SafetyFinishReason = "safety";

    /// <summary>Finish reason of a curated answer sent as is, with no model call.</summary>
    public const string CuratedFinishReason = "curated";

    /// <summary>Finish reason of the pack's "nothing in my sources" reply (grounding required, nothing relevant found).</summary>
    public const string NotFoundFinishReason = "not_found";

    /// <summary>The error code an inference client uses when the prompt does not fit the model's window.</summary>
    public const string ContextOverflowCode = "context_overflow";

    /// <summary>Longest excerpt of a (redacted) message kept in a safety event.</summary>
    public const int MaxExcerptChars = 200;

    private const string SupportiveModeNote =
        "Safety note: earlier in this conversation the person said they might be in crisis and was given crisis hotlines. " +
        "Stay warm, calm and supportive; do not give advice that could cause harm; encourage contacting the hotlines or a trusted person.";

    /// <summary>
    /// The one answer for a conversation the caller may not continue: unknown, someone else's, another persona's, or
    /// named by a wrong token. It is the same in every case, so it tells nothing about which conversations exist.
    /// </summary>
    public static readonly ChatError ConversationNotFound = new(ChatErrorKind.NotFound, "conversation_not_found",
        "No conversation with this id can be continued with these credentials. Start a new conversation.");

    /// <summary>Checks a turn without doing any work. Null means it may run.</summary>
    public ChatError? Validate(ChatTurn turn)
    {
        if (string.IsNullOrWhiteSpace(turn.Persona))
            return new(ChatErrorKind.Invalid, "missing_persona", "The field 'persona' is required.");
        // A persona its pack does not offer on this channel is unknown here, with the same answer as a missing one.
        var channel = ChannelNames.OfTurnChannel(turn.Channel);
        if (personas.FindOn(turn.Persona, channel) is null)
            return new(ChatErrorKind.NotFound, "unknown_persona",
                $"Unknown persona '{turn.Persona}'. Available: {personas.AvailableOn(channel)}.");
        if (string.IsNullOrWhiteSpace(turn.ConversationId))
            return new(ChatErrorKind.Invalid, "missing_conversation_id", "The field 'conversationId' is required.");
        if (turn.ConversationId.Length > MaxConversationIdLength || turn.ConversationId.Any(char.IsControl))
            return new(ChatErrorKind.Invalid, "invalid_conversation_id",
                $"The field 'conversationId' must be 1 to {MaxConversationIdLength} printable characters.");
        if (string.IsNullOrWhiteSpace(turn.Text))
            return new(ChatErrorKind.Invalid, "empty_message", "The message text is empty.");
        if (turn.Text.Length > options.MaxMessageChars)
            return new(ChatErrorKind.TooLarge, "message_too_long",
                $"The message has {turn.Text.Length} characters; the limit is {options.MaxMessageChars}.");
        if (turn.Locale is { Length: > 0 } locale && !Locales.IsSupported(locale) && !Locales.Supported.Any(l => l.StartsWith(locale.Split('-', '_')[0], StringComparison.OrdinalIgnoreCase)))
            return new(ChatErrorKind.Invalid, "unknown_locale",
                $"Unknown locale '{locale}'. Supported: {string.Join(", ", Locales.Supported)}.");
        return null;
    }

    /// <summary>
    /// Starts a turn. Returns an error when the turn is refused (bad input, unknown persona, busy core),
    /// otherwise the reply's events. The reply has been admitted by the inference core when this returns,
    /// so a channel can still choose its status code.
    /// </summary>
    public async Task<ChatStart> StartAsync(ChatTurn turn, ChatRunOptions? run = null, CancellationToken cancellationToken = default)
    {
        if (drain is null)
            return await StartTurnAsync(turn, run, cancellationToken);
        if (drain.Draining)
            return ChatStart.Refused(ChatDrain.ShuttingDown, ChatDrain.RetryAfter);
        // The turn counts as running from here until its events have been read to the end (or abandoned).
        var running = drain.Enter();
        try
        {
            var start = await StartTurnAsync(turn, run, cancellationToken);
            if (start.Events is not { } events) return start;
            var held = ChatStart.Accepted(HoldWhileRead(events, running, CancellationToken.None));
            running = null;
            return held;
        }
        finally
        {
            running?.Dispose();
        }
    }

    private static async IAsyncEnumerable<ChatEvent> HoldWhileRead(IAsyncEnumerable<ChatEvent> events, IDisposable running,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        try
        {
            await foreach (var e in events.WithCancellation(cancellationToken))
                yield return e;
        }
        finally
        {
            running.Dispose();
        }
    }

    private async Task<ChatStart> StartTurnAsync(ChatTurn turn, ChatRunOptions? run, CancellationToken cancellationToken)
    {
        if (Validate(turn) is { } error)
            return ChatStart.Refused(error);

        var pack = personas.Find(turn.Persona)!;
        var locale = pack.ResolveLocale(turn.Locale is { Length: > 0 } requested ? requested : Locales.FromText(turn.Text));
        switch (turn.Access)
        {
            case ConversationAccess.New:
                if (!await store.CreateAsync(turn.Channel, turn.ConversationId, pack.Id, locale, turn.UserId, cancellationToken))
                    return ChatStart.Refused(ConversationNotFound);
                break;
            case ConversationAccess.Existing:
                if (!string.Equals(await store.FindAsync(turn.Channel, turn.ConversationId, cancellationToken), pack.Id, StringComparison.Ordinal))
                    return ChatStart.Refused(ConversationNotFound);
                break;
            default:
                var owner = await store.OpenAsync(turn.Channel, turn.ConversationId, pack.Id, locale, turn.UserId, cancellationToken);
                // The other persona is not named: the answer says no more about a conversation than the caller knows.
                if (!string.Equals(owner, pack.Id, StringComparison.Ordinal))
                    return ChatStart.Refused(new(ChatErrorKind.Conflict, "conversation_persona_mismatch",
                        $"This conversation belongs to another persona, not '{pack.Id}'. Start a new conversation to talk to another persona."));
                break;
        }

        var flags = await store.GetFlagsAsync(turn.Channel, turn.ConversationId, cancellationToken);
        var text = turn.Text;
        IReadOnlyList<string>? verdicts = null;
        if (inputSafety is not null)
        {
            var verdict = await inputSafety.CheckAsync(pack, turn.Text, locale, cancellationToken);
            text = verdict.Text;
            var hits = RailHits(verdict, turn.Text);
            foreach (var (rail, action) in hits)
                metrics?.RecordRailHit(rail, action is { } a ? ActionName(a) : "redact");
            verdicts = [.. hits.Select(h => $"{h.Rail}:{VerdictName(h.Action)}")];
            if (verdict.AnswersItself)
                return ChatStart.Accepted(await AnswerFromRailAsync(turn, pack, locale, verdict, verdicts, flags, cancellationToken));
        }

        var lookup = knowledge is null ? KnowledgeLookup.Empty : await LookupAsync(knowledge, pack, text, locale, cancellationToken);
        if (lookup.Curated is { } curated)
            return ChatStart.Accepted(await AnswerFixedAsync(turn, pack, locale, text, verdicts, curated.Answer, CuratedFinishReason, flags, cancellationToken));
        if (lookup.Passages.Count == 0 && pack.Knowledge.RequireGrounding && pack.NotFoundFor(locale) is { } notFound)
            return ChatStart.Accepted(await AnswerFixedAsync(turn, pack, locale, text, verdicts, notFound, NotFoundFinishReason, flags, cancellationToken));
        var supportive = flags.Contains(ConversationFlags.Crisis) && inputSafety is not null;
        var history = await HistoryAsync(turn, cancellationToken);
        var chatOptions = PersonaChatOptions.Create(pack, run?.Adapters, run?.Seed);
        chatOptions.AdditionalProperties![PersonaChatOptions.ConversationKey] = turn.ConversationId;
        chatOptions.AdditionalProperties[PersonaChatOptions.ChannelKey] = turn.Channel;
        chatOptions.AdditionalProperties[PersonaChatOptions.LocaleKey] = locale;
        if (safetyEvents is not null)
            chatOptions.AdditionalProperties[PersonaChatOptions.SafetyEventsKey] = safetyEvents;

        var stopwatch = Stopwatch.StartNew();
        var passages = lookup.Passages;
        IAsyncEnumerator<ChatResponseUpdate> updates;
        bool hasFirst;
        while (true)
        {
            var messages = BuildMessages(pack, locale, history, text, passages);
            if (supportive)
                messages.Insert(1, new ChatMessage(ChatRole.System, SupportiveModeNote));
            updates = chatClient.GetStreamingResponseAsync(messages, chatOptions, cancellationToken).GetAsyncEnumerator(cancellationToken);
            try
            {
                hasFirst = await updates.MoveNextAsync();
                break;
            }
            catch (ChatRejectedException rejected) when (rejected.Error.Code == ContextOverflowCode && passages.Count > 0)
            {
                // The sources do not fit the model's window next to the reply: fewer passages, down to none.
                await updates.DisposeAsync();
                passages = [.. passages.Take(passages.Count / 2)];
            }
            catch (ChatRejectedException rejected)
            {
                await updates.DisposeAsync();
                return ChatStart.Refused(rejected.Error, rejected.RetryAfter);
            }
            catch
            {
                await updates.DisposeAsync();
                throw;
            }
        }
        var citations = passages.Select((p, i) => Citation.From(i + 1, p)).ToList();

        // Admitted: the user's message is stored before the reply streams, so it is never lost;
        // a refused turn stores nothing and can simply be sent again.
        var userMessage = new StoredMessage(ChatRole.User.Value, text, DateTimeOffset.UtcNow);
        try
        {
            await StoreUserMessageAsync(turn, userMessage, verdicts, cancellationToken);
        }
        catch
        {
            await updates.DisposeAsync();
            throw;
        }

        var reminder = supportive ? inputSafety!.CrisisReminderFor(pack, locale) : null;
        return ChatStart.Accepted(Stream(turn, pack, locale, AdapterLabel(run?.Adapters ?? pack.Adapters), updates, hasFirst, stopwatch, reminder, citations, cancellationToken));
    }

    /// <summary>
    /// A reply that needs no model (a curated answer, the pack's "not in my sources"): the message and the reply are
    /// stored and sent as one piece; a conversation that went through the crisis protocol keeps its reminder.
    /// </summary>
    private async Task<IAsyncEnumerable<ChatEvent>> AnswerFixedAsync(
        ChatTurn turn, PersonaPack pack, string locale, string text, IReadOnlyList<string>? verdicts, string reply, string finishReason, IReadOnlySet<string> flags,
        CancellationToken cancellationToken)
    {
        if (flags.Contains(ConversationFlags.Crisis) && inputSafety is not null)
            reply += "\n\n" + inputSafety.CrisisReminderFor(pack, locale);
        await StoreUserMessageAsync(turn, new StoredMessage(ChatRole.User.Value, text, DateTimeOffset.UtcNow), verdicts, cancellationToken);
        var sequence = await store.AppendAsync(turn.Channel, turn.ConversationId, new StoredMessage(ChatRole.Assistant.Value, reply, DateTimeOffset.UtcNow),
            new MessageDetails(FinishReason: finishReason), cancellationToken);
        return Fixed(turn, pack, locale, reply, finishReason, sequence);
    }

    /// <summary>
    /// The rails answered by themselves: store the (redacted) message and the fixed reply, flag a crisis
    /// conversation and record the event, all before the reply is shown; no model is called.
    /// </summary>
    private async Task<IAsyncEnumerable<ChatEvent>> AnswerFromRailAsync(
        ChatTurn turn, PersonaPack pack, string locale, InputVerdict verdict, IReadOnlyList<string> verdicts, IReadOnlySet<string> flags, CancellationToken cancellationToken)
    {
        var reply = verdict.Reply ?? "";
        if (verdict.Action != InputAction.Crisis && flags.Contains(ConversationFlags.Crisis))
            reply += "\n\n" + inputSafety!.CrisisReminderFor(pack, locale);

        await StoreUserMessageAsync(turn, new StoredMessage(ChatRole.User.Value, verdict.Text, DateTimeOffset.UtcNow), verdicts, cancellationToken);
        if (verdict.Action == InputAction.Crisis)
            await store.AddFlagAsync(turn.Channel, turn.ConversationId, ConversationFlags.Crisis, cancellationToken);
        var sequence = await store.AppendAsync(turn.Channel, turn.ConversationId, new StoredMessage(ChatRole.Assistant.Value, reply, DateTimeOffset.UtcNow),
            new MessageDetails(FinishReason: SafetyFinishReason), cancellationToken);

        if (safetyEvents is not null)
        {
            var excerpt = verdict.Text.Length > MaxExcerptChars ? verdict.Text[..MaxExcerptChars] : verdict.Text;
            await safetyEvents.RecordAsync(new SafetyEvent(turn.Channel, turn.ConversationId, pack.Id, verdict.Rail ?? verdict.Action.ToString(),
                verdict.Severity, verdict.Action.ToString(), excerpt, DateTimeOffset.UtcNow), cancellationToken);
        }

        return Fixed(turn, pack, locale, reply, SafetyFinishReason, sequence);
    }

    private async Task<KnowledgeLookup> LookupAsync(IKnowledgeRetriever retriever, PersonaPack pack, string text, string locale, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var lookup = await retriever.LookupAsync(pack, text, locale, cancellationToken);
        metrics?.RecordKnowledgeSearch(pack.Id, Stopwatch.GetElapsedTime(started));
        return lookup;
    }

    /// <summary>
    /// The input rails that acted on a message: PII redaction (no action), and the rail that answered by itself with its
    /// action. Counted in the metrics and stored beside the message as its safety verdicts.
    /// </summary>
    private static List<(string Rail, InputAction? Action)> RailHits(InputVerdict verdict, string original)
    {
        var hits = new List<(string Rail, InputAction? Action)>(2);
        if (!string.Equals(verdict.Text, original, StringComparison.Ordinal))
            hits.Add((SafetyRails.Pii, null));
        if (verdict.AnswersItself)
            hits.Add((verdict.Rail ?? ActionName(verdict.Action), verdict.Action));
        return hits;
    }

    private static string ActionName(InputAction action) => action switch
    {
        InputAction.Crisis => "crisis",
        InputAction.MedicalEmergency => "medical_emergency",
        InputAction.Refuse => "refuse",
        InputAction.OutOfScope => "out_of_scope",
        _ => "allow",
    };

    private async IAsyncEnumerable<ChatEvent> Fixed(ChatTurn turn, PersonaPack pack, string locale, string reply, string finishReason, int sequence)
    {
        await Task.CompletedTask;
        metrics?.RecordReply(pack.Id, turn.Channel, finishReason);
        yield return new ChatDelta(reply);
        yield return new ChatCompleted(turn.ConversationId, pack.Id, locale, reply, finishReason, null, 0) { Sequence = sequence };
    }

    /// <summary>
    /// Stores the user's message with what the rails did to it, unless the channel stored it when it arrived (then it
    /// was stored redacted, before any rail decided).
    /// </summary>
    private async Task StoreUserMessageAsync(ChatTurn turn, StoredMessage message, IReadOnlyList<string>? verdicts, CancellationToken cancellationToken)
    {
        if (turn.StoredSequence is null)
            await store.AppendAsync(turn.Channel, turn.ConversationId, message,
                verdicts is { Count: > 0 } ? new MessageDetails(SafetyVerdicts: verdicts) : null, cancellationToken);
    }

    /// <summary>
    /// What a rail did, as the console's transcripts show it: <c>pii:redacted</c>, <c>crisis:engaged</c>,
    /// <c>injection:refused</c>, <c>medical_emergency:referred</c>, <c>scope:redirected</c>.
    /// </summary>
    private static string VerdictName(InputAction? action) => action switch
    {
        null => "redacted",
        InputAction.Crisis => "engaged",
        InputAction.MedicalEmergency => "referred",
        InputAction.Refuse => "refused",
        _ => "redirected",
    };

    /// <summary>
    /// The stored messages the model sees before the new one. When the channel stored the new message already, later
    /// messages may be stored too (the person wrote again while this turn waited): the history is what came before
    /// this message plus the replies stored since, without the message itself and the questions still waiting.
    /// </summary>
    private async Task<IReadOnlyList<StoredMessage>> HistoryAsync(ChatTurn turn, CancellationToken cancellationToken)
    {
        if (turn.StoredSequence is not { } position)
            return await store.GetHistoryAsync(turn.Channel, turn.ConversationId, options.HistoryMessages, cancellationToken);
        const int waitingAtMost = 32;
        var recent = await store.GetHistoryAsync(turn.Channel, turn.ConversationId, options.HistoryMessages + waitingAtMost, cancellationToken);
        return [.. recent.Where(m => m.Sequence < position || (m.Sequence > position && m.Role != ChatRole.User.Value)).TakeLast(options.HistoryMessages)];
    }

    /// <summary>
    /// System prompt first, then the stored history, then the new message. Passages from the persona's documents go
    /// into the new message, numbered so the reply can cite them; the system prompt stays the same for every turn,
    /// so the inference core keeps sharing its cached prefix.
    /// </summary>
    public static List<ChatMessage> BuildMessages(PersonaPack pack, string locale, IReadOnlyList<StoredMessage> history, string text,
        IReadOnlyList<KnowledgePassage>? passages = null)
    {
        ArgumentNullException.ThrowIfNull(pack);
        ArgumentNullException.ThrowIfNull(history);
        var messages = new List<ChatMessage>(history.Count + 2) { new(ChatRole.System, pack.SystemPromptFor(locale)) };
        foreach (var m in history)
            messages.Add(new ChatMessage(new ChatRole(m.Role), m.Text));
        messages.Add(new ChatMessage(ChatRole.User, passages is { Count: > 0 } ? GroundedQuestion(locale, text, passages) : text));
        return messages;
    }

    /// <summary>The user's question preceded by numbered sources and how to use them.</summary>
    public static string GroundedQuestion(string locale, string text, IReadOnlyList<KnowledgePassage> passages)
    {
        ArgumentNullException.ThrowIfNull(passages);
        var chinese = locale.StartsWith("zh", StringComparison.OrdinalIgnoreCase);
        var prompt = new StringBuilder();
        prompt.AppendLine(chinese
            ? "请依据下列资料回答，并用编号注明出处，例如 [1]。资料中没有答案时，请直说资料里没有，不要猜测。"
            : "Answer from the sources below and cite them by number, e.g. [1]. If they do not contain the answer, say so instead of guessing.");
        prompt.AppendLine();
        for (var i = 0; i < passages.Count; i++)
        {
            var p = passages[i];
            var label = string.IsNullOrEmpty(p.Section) ? p.Title : $"{p.Title} — {p.Section}";
            if (p.Page is { } page) label += FormattableString.Invariant($" (p. {page})");
            prompt.Append('[').Append(i + 1).Append("] ").AppendLine(label);
            prompt.AppendLine(p.Text.Trim());
            prompt.AppendLine();
        }
        prompt.Append(chinese ? "问题：" : "Question: ").Append(text);
        return prompt.ToString();
    }

    /// <summary>The adapters as stored beside a reply: file names with their scale, e.g. <c>tone.gguf@0.8</c>.</summary>
    private static string? AdapterLabel(IReadOnlyList<AdapterRef> adapters) =>
        adapters.Count == 0 ? null
            : string.Join(",", adapters.Select(a => FormattableString.Invariant($"{Path.GetFileName(a.Path)}@{a.Scale:0.##}")));

    private async IAsyncEnumerable<ChatEvent> Stream(
        ChatTurn turn, PersonaPack pack, string locale, string? adapter,
        IAsyncEnumerator<ChatResponseUpdate> updates, bool hasFirst, Stopwatch stopwatch, string? reminder, IReadOnlyList<Citation> citations,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        string finishReason = "stop";
        int? outputTokens = null;
        string? model = null;
        ChatError? failure = null;
        int? sequence = null;
        try
        {
            var hasCurrent = hasFirst;
            while (hasCurrent)
            {
                var update = updates.Current;
                model ??= update.ModelId;
                if (update.FinishReason is { } reason)
                    finishReason = reason.Value;
                foreach (var usage in update.Contents.OfType<UsageContent>())
                    outputTokens = (int?)usage.Details.OutputTokenCount;
                if (!string.IsNullOrEmpty(update.Text))
                {
                    text.Append(update.Text);
                    yield return new ChatDelta(update.Text);
                }

                try
                {
                    hasCurrent = await updates.MoveNextAsync();
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    failure = new(ChatErrorKind.Busy, "timeout", "The reply took too long and was stopped. Please try again.");
                    finishReason = "timeout";
                    hasCurrent = false;
                }
                catch (IOException)
                {
                    // A remote inference server went away mid-reply: the text so far is kept, the channel is told.
                    failure = new(ChatErrorKind.Upstream, "reply_interrupted", "The reply was interrupted. Please try again.");
                    finishReason = "interrupted";
                    hasCurrent = false;
                }
            }

            if (reminder is not null && failure is null)
            {
                // Resources stay visible on every later turn of a crisis conversation.
                var footer = (text.Length > 0 ? "\n\n" : "") + reminder;
                text.Append(footer);
                yield return new ChatDelta(footer);
            }
        }
        finally
        {
            await updates.DisposeAsync();
            var endedAs = cancellationToken.IsCancellationRequested ? "cancelled" : finishReason;
            metrics?.RecordReply(pack.Id, turn.Channel, endedAs);
            // Whatever was produced is kept, also when the client went away mid-reply.
            if (text.Length > 0 || failure is null)
            {
                var reply = new StoredMessage(ChatRole.Assistant.Value, text.ToString(), DateTimeOffset.UtcNow);
                var details = new MessageDetails(outputTokens, stopwatch.Elapsed.TotalMilliseconds, model, endedAs, adapter);
                sequence = await store.AppendAsync(turn.Channel, turn.ConversationId, reply, details, CancellationToken.None);
            }
        }

        if (failure is not null)
            yield return new ChatFailed(failure) { Sequence = sequence };
        else
            yield return new ChatCompleted(turn.ConversationId, pack.Id, locale, text.ToString(), finishReason, outputTokens, stopwatch.Elapsed.TotalMilliseconds)
            {
                Citations = citations,
                Sequence = sequence,
            };
    }
}

/// <summary>Per-request overrides a trusted caller (the terminal, the admin playground) may set.</summary>
public sealed record ChatRunOptions(IReadOnlyList<AdapterRef>? Adapters = null, long? Seed = null);

/// <summary>The outcome of <see cref="ChatOrchestrator.StartAsync"/>.</summary>
public sealed record ChatStart
{
    public ChatError? Error { get; private init; }
    public TimeSpan? RetryAfter { get; private init; }
    public IAsyncEnumerable<ChatEvent>? Events { get; private init; }

    public static ChatStart Refused(ChatError error, TimeSpan? retryAfter = null) => new() { Error = error, RetryAfter = retryAfter };
    public static ChatStart Accepted(IAsyncEnumerable<ChatEvent> events) => new() { Events = events };
}
