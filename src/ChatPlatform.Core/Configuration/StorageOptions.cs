using System.ComponentModel.DataAnnotations;

namespace ChatPlatform.Core.Configuration;

/// <summary>The <c>ChatPlatform:Database</c> section: where conversations and everything else are stored.</summary>
public sealed class DatabaseOptions
{
    public const string SectionName = ChatPlatformOptions.SectionName + ":Database";

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

    /// <summary>The SQLite file used when <see cref="ConnectionString"/> is empty: <c>chatplatform.db</c> in the data directory.</summary>
    public static string SqliteFileIn(string dataDirectory) => Path.Combine(Path.GetFullPath(dataDirectory), "chatplatform.db");
}

/// <summary>The <c>ChatPlatform:Retention</c> section: how long data is kept before the background purge removes it.</summary>
public sealed class RetentionOptions
{
    public const string SectionName = ChatPlatformOptions.SectionName + ":Retention";

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
}
