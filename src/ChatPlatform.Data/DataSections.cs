using ChatPlatform.Core.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPlatform.Data;

/// <summary>
/// The sections the store owns, <c>ChatPlatform:Database</c> and <c>ChatPlatform:Retention</c>, with the rules the
/// server and the <c>chatplatform</c> command both check.
/// </summary>
public static class DataSections
{
    /// <summary>A known provider, and a connection string where PostgreSQL needs one.</summary>
    public static SectionValidator<DatabaseOptions> Database { get; } = new(DatabaseOptions.SectionName, static (database, section, errors) =>
    {
        if (!database.IsPostgres && !database.IsSqlite)
            errors.Add($"{section}:Provider must be '{DatabaseOptions.Sqlite}' or '{DatabaseOptions.Postgres}' (got '{database.Provider}')");
        if (database.IsPostgres && string.IsNullOrWhiteSpace(database.ConnectionString))
            errors.Add($"{section}:ConnectionString is required when {section}:Provider is '{DatabaseOptions.Postgres}' (e.g. Host=127.0.0.1;Database=chatplatform;Username=chat)");
    });

    /// <summary>Retention periods, the per-persona ones included.</summary>
    public static SectionValidator<RetentionOptions> Retention { get; } = new(RetentionOptions.SectionName, static (retention, section, errors) =>
    {
        foreach (var (persona, days) in retention.PersonaConversationDays)
        {
            if (days is < 0 or > 36_500)
                errors.Add($"{section}:PersonaConversationDays:{persona} must be between 0 and 36500 (got {days})");
        }
    });

    /// <summary>Registers <see cref="DatabaseOptions"/> and <see cref="RetentionOptions"/> bound to their sections and checked when the host starts.</summary>
    public static IServiceCollection AddDataOptions(this IServiceCollection services)
    {
        services.AddChatPlatformOptions();
        services.AddSectionOptions(Database);
        services.AddSectionOptions(Retention);
        return services;
    }
}
