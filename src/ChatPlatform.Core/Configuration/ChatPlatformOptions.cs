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

    public ModelOptions Model { get; set; } = new();

    public string DatabasePath => Path.Combine(Path.GetFullPath(DataDirectory), "chatplatform.db");

    /// <summary>
    /// Checks every value and names the configuration key of each bad one,
    /// e.g. <c>ChatPlatform:Model:ContextSize must be between 256 and 1048576 (got 12)</c>.
    /// </summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        Check(this, SectionName, errors);
        Check(Model, SectionName + ":Model", errors);
        if (!string.IsNullOrWhiteSpace(Model.Path) && !File.Exists(Model.Path))
            errors.Add($"{SectionName}:Model:Path points to '{Model.Path}', which does not exist (resolved to {System.IO.Path.GetFullPath(Model.Path)})");
        return errors;
    }

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

    public int EffectiveThreads => Threads > 0 ? Threads : Environment.ProcessorCount;
}
