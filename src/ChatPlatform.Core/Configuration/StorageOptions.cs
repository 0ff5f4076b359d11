using System.ComponentModel.DataAnnotations;

namespace ChatPlatform.Core.Configuration;

/// <summary>The <c>ChatPlatform:Database</c> section: where conversations and everything else are stored.</summary>
public sealed class DatabaseOptions
{
    public const string Sqlite = "Sqlite";
    public const string Postgres = "Postgres";

    /// <summary><c>Sqlite</c> (default: one file under the data directory) or <c>Postgres</c> (shared by several nodes).</summary>
    public string Provider { get; set; } = Sqlite;

    /// <summary>
    /// For PostgreSQL an Npgsql connection string (required). For SQLite optional: empty means
    /// <c>chatplatform.db</c> in the data directory.
    /// </summary>
    public string? ConnectionString { get; set; }

    public bool IsPostgres => string.Equals(Provider, Postgres, StringComparison.OrdinalIgnoreCase)
        || string.Equals(Provider, "PostgreSQL", StringComparison.OrdinalIgnoreCase)
        || string.Equals(Provider, "Npgsql", StringComparison.OrdinalIgnoreCase);

    public bool IsSqlite => string.Equals(Provider, Sqlite, StringComparison.OrdinalIgnoreCase);

    internal void Validate(string prefix, List<string> errors)
    {
        if (!IsPostgres && !IsSqlite)
            errors.Add($"{prefix}:Provider must be '{Sqlite}' or '{Postgres}' (got '{Provider}')");
        if (IsPostgres && string.IsNullOrWhiteSpace(ConnectionString))
            errors.Add($"{prefix}:ConnectionString is required when {prefix}:Provider is '{Postgres}' (e.g. Host=127.0.0.1;Database=chatplatform;Username=chat)");
    }
}

/// <summary>The <c>ChatPlatform:Retention</c> section: how long data is kept before the background purge removes it.</summary>
public sealed class RetentionOptions
{
    /// <summary>Days a conversation is kept after its last message; 0 keeps conversations forever.</summary>
    [Range(0, 36_500)]
    public int ConversationDays { get; set; } = 365;

    /// <summary>Per-persona overrides of <see cref="ConversationDays"/>, keyed by persona id.</summary>
    public Dictionary<string, int> PersonaConversationDays { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Days a safety event is kept (its own period, usually longer than conversations); 0 keeps them forever.</summary>
    [Range(0, 36_500)]
    public int SafetyEventDays { get; set; } = 730;

    /// <summary>Minutes between purge runs.</summary>
    [Range(1, 10_080)]
    public int IntervalMinutes { get; set; } = 60;

    /// <summary>How often a running server looks for erasures made elsewhere (the command line, another node) to drop its in-memory copies.</summary>
    [Range(1, 3_600)]
    public int ErasureCheckSeconds { get; set; } = 5;

    /// <summary>The retention period of a persona's conversations; null when they are kept forever.</summary>
    public TimeSpan? ConversationPeriodFor(string persona)
    {
        var days = PersonaConversationDays.TryGetValue(persona, out var d) ? d : ConversationDays;
        return days > 0 ? TimeSpan.FromDays(days) : null;
    }

    internal void Validate(string prefix, List<string> errors)
    {
        foreach (var (persona, days) in PersonaConversationDays)
        {
            if (days is < 0 or > 36_500)
                errors.Add($"{prefix}:PersonaConversationDays:{persona} must be between 0 and 36500 (got {days})");
        }
    }
}
