using System.ComponentModel.DataAnnotations;

namespace ChatPlatform.Core.Configuration;

/// <summary>
/// The keys directly in the <c>ChatPlatform</c> configuration section: the folders and what the orchestrator needs.
/// The subsections (<c>Model</c>, <c>Database</c>, <c>Knowledge</c>, …) have options types of their own, bound and
/// checked by the project that uses them.
/// </summary>
public sealed class ChatPlatformOptions
{
    public const string SectionName = "ChatPlatform";

    /// <summary>Runtime state: the SQLite file <c>chatplatform.db</c> and generated models live here.</summary>
    [Required(AllowEmptyStrings = false)]
    public string DataDirectory { get; set; } = "data";

    [Required(AllowEmptyStrings = false)]
    public string PersonasDirectory { get; set; } = "personas";

    /// <summary>Shared safety content: lexicons, examples the classifiers learn from, crisis and emergency replies.</summary>
    [Required(AllowEmptyStrings = false)]
    public string SafetyDirectory { get; set; } = "safety";

    /// <summary>Longest user message accepted, in characters.</summary>
    [Range(1, 1_000_000)]
    public int MaxMessageChars { get; set; } = 4000;

    /// <summary>How many earlier messages of a conversation go into the prompt at most.</summary>
    [Range(0, 1000)]
    public int HistoryMessages { get; set; } = 20;

    /// <summary>
    /// How often (seconds) a node checks the store for persona versions activated or rolled back on another node:
    /// the longest a change made in one node's console takes to be live on the others.
    /// </summary>
    [Range(1, 3600)]
    public int PersonaRefreshSeconds { get; set; } = 5;

    /// <summary>Checks the keys of this section itself; each capability's section has its own validator.</summary>
    public static SectionValidator<ChatPlatformOptions> Validator { get; } = new(SectionName);
}

/// <summary>The <c>ChatPlatform:Model</c> section: which base model the shared inference core loads.</summary>
public sealed class ModelOptions
{
    public const string SectionName = ChatPlatformOptions.SectionName + ":Model";

    /// <summary>Path to a GGUF file. Empty: a demo model is generated under the data directory.</summary>
    public string? Path { get; set; }

    /// <summary>
    /// <c>local</c>: the shared LLamaSharp core in this process. <c>remote</c>: an OpenAI-compatible server
    /// (see <see cref="RemoteOptions"/>).
    /// </summary>
    [Required(AllowEmptyStrings = false)]
    [RegularExpression("^(?i:local|remote)$", ErrorMessage = "The field Backend must be 'local' or 'remote'.")]
    public string Backend { get; set; } = "local";

    public bool IsRemote => string.Equals(Backend, "remote", StringComparison.OrdinalIgnoreCase);

    /// <summary>CPU threads for decoding; 0 means one per core.</summary>
    [Range(0, 1024)]
    public int Threads { get; set; }

    /// <summary>Token window of one conversation (prompt and reply together).</summary>
    [Range(256, 1_048_576)]
    public int ContextSize { get; set; } = 4096;

    /// <summary>Conversations decoded together in one batch.</summary>
    [Range(1, 256)]
    public int MaxConcurrentConversations { get; set; } = 4;

    /// <summary>Requests that may wait for a free slot before callers are told the core is busy.</summary>
    [Range(0, 100_000)]
    public int MaxQueuedRequests { get; set; } = 32;

    /// <summary>Longest time one request may run, in seconds.</summary>
    [Range(1, 86_400)]
    public int RequestTimeoutSeconds { get; set; } = 300;

    /// <summary>
    /// Tokens of decoded state kept for reuse per adapter set: persona system prompts that new conversations fork
    /// from, and recent conversations that continue without re-reading their history. 0 turns the cache off.
    /// </summary>
    [Range(0, 1_048_576)]
    public int PromptCacheTokens { get; set; } = 8192;

    public int EffectiveThreads => Threads > 0 ? Threads : Environment.ProcessorCount;
}

/// <summary>The <c>ChatPlatform:Remote</c> section: an OpenAI-compatible server (llama.cpp, vLLM, another node).</summary>
public sealed class RemoteOptions
{
    public const string SectionName = ChatPlatformOptions.SectionName + ":Remote";

    /// <summary>Base URL up to and including the API version, e.g. <c>http://127.0.0.1:8080/v1</c>.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>Sent as <c>Authorization: Bearer</c> when set.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The model name sent with every request (unless <see cref="UsePersonaAsModel"/> applies).</summary>
    public string? Model { get; set; }

    /// <summary>
    /// Send the persona id as the model name, e.g. for vLLM serving one LoRA module per persona
    /// (<c>--lora-modules mindchat=...</c>). Requests without a persona use <see cref="Model"/>.
    /// </summary>
    public bool UsePersonaAsModel { get; set; }

    /// <summary>
    /// Longest wait for the server: for its first response, and for each next piece of a streamed reply.
    /// A non-streamed reply must arrive whole within it.
    /// </summary>
    [Range(1, 86_400)]
    public int TimeoutSeconds { get; set; } = 60;

    /// <summary>Retries on connection failures, HTTP 5xx and 429 before the reply starts (never after).</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 2;
}

/// <summary>
/// The <c>ChatPlatform:SafetyJudge</c> section: a guard model (e.g. a Qwen3Guard or Llama Guard GGUF, or such a
/// model behind an OpenAI-compatible server) that reviews messages the rules let through. It can only add a
/// crisis referral or an injection refusal; the rails never wait longer than <see cref="TimeoutMilliseconds"/> for it.
/// </summary>
public sealed class SafetyJudgeOptions
{
    public const string SectionName = ChatPlatformOptions.SectionName + ":SafetyJudge";

    /// <summary><c>off</c> (default), <c>local</c> (a GGUF at <see cref="ModelPath"/>) or <c>remote</c> (<see cref="Remote"/>).</summary>
    public string Backend { get; set; } = "off";

    /// <summary>The guard model's GGUF file, for the <c>local</c> backend. It is loaded beside the chat model.</summary>
    public string? ModelPath { get; set; }

    /// <summary>The OpenAI-compatible server for the <c>remote</c> backend.</summary>
    public RemoteOptions Remote { get; set; } = new();

    /// <summary>Longest wait for the judge per message; past it, the rules' verdict stands.</summary>
    [Range(50, 60_000)]
    public int TimeoutMilliseconds { get; set; } = 3000;

    /// <summary>Token window of the local judge (one message plus a short verdict).</summary>
    [Range(256, 1_048_576)]
    public int ContextSize { get; set; } = 2048;

    /// <summary>CPU threads for the local judge; 0 means one per core.</summary>
    [Range(0, 1024)]
    public int Threads { get; set; }

    public bool IsEnabled => !string.Equals(Backend, "off", StringComparison.OrdinalIgnoreCase);

    public bool IsRemote => string.Equals(Backend, "remote", StringComparison.OrdinalIgnoreCase);
}

/// <summary>The <c>ChatPlatform:Models</c> section: the model hub <c>chatplatform model pull</c> downloads from.</summary>
public sealed class ModelsOptions
{
    public const string SectionName = ChatPlatformOptions.SectionName + ":Models";

    public const string DefaultHubUrl = "https://huggingface.co";

    /// <summary>A Hugging Face-style server: files are at <c>{HubUrl}/{repo}/resolve/{revision}/{file}</c>.</summary>
    public string HubUrl { get; set; } = DefaultHubUrl;

    /// <summary>Access token for gated or private repositories; when empty, the <c>HF_TOKEN</c> environment variable is used.</summary>
    public string? HubToken { get; set; }
}
