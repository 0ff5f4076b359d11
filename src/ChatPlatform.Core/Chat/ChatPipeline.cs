using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Knowledge;
using ChatPlatform.Core.Metrics;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using Microsoft.Extensions.AI;

namespace ChatPlatform.Core.Chat;

/// <summary>
/// The parts every turn runs through, gathered once: the chat client with its middlewares (output rails, counting,
/// telemetry: <c>UseChatPipeline()</c>), the input rails, the knowledge retriever and the safety event sink. The
/// channels' orchestrator and trial turns (the console's playground and evals, <c>chatplatform packs eval</c>) are
/// all made here, so a stage added to the pipeline reaches every one of them.
/// </summary>
/// <param name="chatClient">The model behind the pipeline's middlewares.</param>
public sealed class ChatPipeline(
    IPersonaCatalog personas,
    IChatClient chatClient,
    ChatPlatformOptions options,
    IInputSafety? inputSafety = null,
    ISafetyEventSink? safetyEvents = null,
    IKnowledgeRetriever? knowledge = null,
    ChatDrain? drain = null,
    ChatPlatformMetrics? metrics = null)
{
    /// <summary>The orchestrator the channels use: turns kept in <paramref name="store"/>, held by the drain and counted.</summary>
    public ChatOrchestrator CreateOrchestrator(IConversationStore store) =>
        new(personas, chatClient, store, options, inputSafety, safetyEvents, knowledge, drain, metrics);

    /// <summary>
    /// An orchestrator for trial turns of <paramref name="pack"/>, a draft or the live version. The pack travels with
    /// each turn to the output rails, and their events go to <paramref name="events"/>, both through
    /// <see cref="PersonaChatOptions"/>; turns are kept in <paramref name="store"/>, neither drained nor counted, so
    /// trials never mix with real conversations.
    /// </summary>
    public ChatOrchestrator CreateTrial(PersonaPack pack, IConversationStore store, ISafetyEventSink events) =>
        new(new PersonaCatalog([pack]), chatClient, store, options, inputSafety, events, knowledge);
}
