using System.ComponentModel.DataAnnotations;

namespace ChatPlatform.Core.Configuration;

/// <summary>The <c>ChatPlatform</c> configuration section.</summary>
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

    public ModelOptions Model { get; set; } = new();

    /// <summary>The OpenAI-compatible server used when <see cref="ModelOptions.Backend"/> is <c>remote</c>.</summary>
    public RemoteOptions Remote { get; set; } = new();

    /// <summary>Where <c>chatplatform model pull</c> downloads models from.</summary>
    public ModelsOptions Models { get; set; } = new();

    public DatabaseOptions Database { get; set; } = new();

    public RetentionOptions Retention { get; set; } = new();

    /// <summary>An optional guard model asked for a second opinion on messages the input rails let through.</summary>
    public SafetyJudgeOptions SafetyJudge { get; set; } = new();
    public KnowledgeOptions Knowledge { get; set; } = new();

    /// <summary>Which hosts the crisis notice and escalations may be posted to.</summary>
    public WebhookOptions Webhooks { get; set; } = new();

    public string DatabasePath => Path.Combine(Path.GetFullPath(DataDirectory), "chatplatform.db");

    /// <summary>This node's knowledge search index (rebuilt from the store when missing or stale).</summary>
    public string KnowledgeIndexPath => string.IsNullOrWhiteSpace(Knowledge.IndexPath)
        ? Path.Combine(Path.GetFullPath(DataDirectory), "knowledge-index.db")
        : Path.GetFullPath(Knowledge.IndexPath);

    /// <summary>
    /// Checks every value and names the configuration key of each bad one,
    /// e.g. <c>ChatPlatform:Model:ContextSize must be between 256 and 1048576 (got 12)</c>.
    /// </summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        Check(this, SectionName, errors);
        Check(Model, SectionName + ":Model", errors);
        Check(Models, SectionName + ":Models", errors);
        Database.Validate(SectionName + ":Database", errors);
        Check(Retention, SectionName + ":Retention", errors);
        Retention.Validate(SectionName + ":Retention", errors);
        Check(Knowledge, SectionName + ":Knowledge", errors);
        Knowledge.Validate(SectionName + ":Knowledge", errors);
        if (!IsHttpUrl(Models.HubUrl))
            errors.Add($"{SectionName}:Models:HubUrl is invalid (got '{Models.HubUrl}'): it must be an absolute http:// or https:// URL");
        if (Model.IsRemote)
        {
            Check(Remote, SectionName + ":Remote", errors);
            if (!IsHttpUrl(Remote.BaseUrl))
                errors.Add($"{SectionName}:Remote:BaseUrl is invalid (got '{Remote.BaseUrl}'): with {SectionName}:Model:Backend = remote it must be the absolute http:// or https:// URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1");
            if (string.IsNullOrWhiteSpace(Remote.Model) && !Remote.UsePersonaAsModel)
                errors.Add($"{SectionName}:Remote:Model is empty: name the model the server should use, or set {SectionName}:Remote:UsePersonaAsModel to true to send the persona id as the model");
        }
        else if (!string.IsNullOrWhiteSpace(Model.Path) && !File.Exists(Model.Path))
            errors.Add($"{SectionName}:Model:Path points to '{Model.Path}', which does not exist (resolved to {System.IO.Path.GetFullPath(Model.Path)})");
        SafetyJudge.Validate(SectionName + ":SafetyJudge", errors);
        Webhooks.Validate(WebhookOptions.SectionName, errors);
        return errors;
    }

    private static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    private static void Check(object target, string prefix, List<string> errors)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(target, new ValidationContext(target), results, validateAllProperties: true);
        foreach (var result in results)
        {
            foreach (var member in result.MemberNames)
            {
                var value = target.GetType().GetProperty(member)?.GetValue(target);
                var message = result.ErrorMessage ?? "is invalid";
                errors.Add($"{prefix}:{member} is invalid (got '{value}'): {message}");
            }
        }
    }
}

/// <summary>The <c>ChatPlatform:Model</c> section: which base model the shared inference core loads.</summary>
public sealed class ModelOptions
{
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
    /// <summary><c>off</c> (default), <c>local</c> (a GGUF at <see cref="ModelPath"/>) or <c>remote</c> (<see cref="Remote"/>).</summary>
    public string Backend { get; set; } = "off";

    /// <summary>The guard model's GGUF file, for the <c>local</c> backend. It is loaded beside the chat model.</summary>
    public string? ModelPath { get; set; }

    /// <summary>The OpenAI-compatible server for the <c>remote</c> backend.</summary>
    public RemoteOptions Remote { get; set; } = new();

    /// <summary>Longest wait for the judge per message; past it, the rules' verdict stands.</summary>
    public int TimeoutMilliseconds { get; set; } = 3000;

    /// <summary>Token window of the local judge (one message plus a short verdict).</summary>
    public int ContextSize { get; set; } = 2048;

    /// <summary>CPU threads for the local judge; 0 means one per core.</summary>
    public int Threads { get; set; }

    public bool IsEnabled => !string.Equals(Backend, "off", StringComparison.OrdinalIgnoreCase);

    public bool IsRemote => string.Equals(Backend, "remote", StringComparison.OrdinalIgnoreCase);

    internal void Validate(string prefix, List<string> errors)
    {
        if (Backend is not { } backend || !(backend.Equals("off", StringComparison.OrdinalIgnoreCase)
            || backend.Equals("local", StringComparison.OrdinalIgnoreCase) || IsRemote))
        {
            errors.Add($"{prefix}:Backend is invalid (got '{Backend}'): it must be 'off', 'local' or 'remote'");
            return;
        }
        if (TimeoutMilliseconds is < 50 or > 60_000)
            errors.Add($"{prefix}:TimeoutMilliseconds is invalid (got '{TimeoutMilliseconds}'): it must be between 50 and 60000");
        if (ContextSize is < 256 or > 1_048_576)
            errors.Add($"{prefix}:ContextSize is invalid (got '{ContextSize}'): it must be between 256 and 1048576");
        if (Threads is < 0 or > 1024)
            errors.Add($"{prefix}:Threads is invalid (got '{Threads}'): it must be between 0 and 1024");
        if (!IsEnabled) return;
        if (IsRemote)
        {
            if (!Uri.TryCreate(Remote.BaseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                errors.Add($"{prefix}:Remote:BaseUrl is invalid (got '{Remote.BaseUrl}'): with {prefix}:Backend = remote it must be the absolute http:// or https:// URL of an OpenAI-compatible server");
            if (string.IsNullOrWhiteSpace(Remote.Model))
                errors.Add($"{prefix}:Remote:Model is empty: name the guard model the server should use");
        }
        else if (string.IsNullOrWhiteSpace(ModelPath))
            errors.Add($"{prefix}:ModelPath is empty: with {prefix}:Backend = local it must name the guard model's GGUF file");
        else if (!File.Exists(ModelPath))
            errors.Add($"{prefix}:ModelPath points to '{ModelPath}', which does not exist (resolved to {System.IO.Path.GetFullPath(ModelPath)})");
    }
}

/// <summary>The <c>ChatPlatform:Models</c> section: the model hub <c>chatplatform model pull</c> downloads from.</summary>
public sealed class ModelsOptions
{
    public const string DefaultHubUrl = "https://huggingface.co";

    /// <summary>A Hugging Face-style server: files are at <c>{HubUrl}/{repo}/resolve/{revision}/{file}</c>.</summary>
    public string HubUrl { get; set; } = DefaultHubUrl;

    /// <summary>Access token for gated or private repositories; when empty, the <c>HF_TOKEN</c> environment variable is used.</summary>
    public string? HubToken { get; set; }
}
