using ChatPlatform.Core.Configuration;
using ChatPlatform.Data;
using ChatPlatform.Inference;
using ChatPlatform.Knowledge;
using ChatPlatform.Safety;
using Microsoft.Extensions.Configuration;

namespace ChatPlatform.Cli;

/// <summary>
/// The same <c>ChatPlatform</c> settings the server reads: <c>appsettings.json</c> in the working folder, then
/// environment variables. Each section is bound to the options type of the project that uses it and checked by that
/// project's rules, the ones the server checks at start-up.
/// </summary>
internal sealed class CliSettings
{
    private CliSettings(IConfiguration configuration)
    {
        Core = ChatPlatformOptions.Validator.Bind(configuration);
        Model = InferenceSections.Model.Bind(configuration);
        Remote = SectionOptions.Bind<RemoteOptions>(configuration, RemoteOptions.SectionName);
        Models = InferenceSections.Models.Bind(configuration);
        Database = DataSections.Database.Bind(configuration);
        Retention = DataSections.Retention.Bind(configuration);
        Knowledge = KnowledgeSections.Knowledge.Bind(configuration);
        SafetyJudge = SafetySections.SafetyJudge.Bind(configuration);
        Webhooks = SafetySections.Webhooks.Bind(configuration);
    }

    /// <summary>The keys directly in the <c>ChatPlatform</c> section.</summary>
    public ChatPlatformOptions Core { get; }

    public ModelOptions Model { get; }

    public RemoteOptions Remote { get; }

    public ModelsOptions Models { get; }

    public DatabaseOptions Database { get; }

    public RetentionOptions Retention { get; }

    public KnowledgeOptions Knowledge { get; }

    public SafetyJudgeOptions SafetyJudge { get; }

    public WebhookOptions Webhooks { get; }

    public string DataDirectory
    {
        get => Core.DataDirectory;
        set => Core.DataDirectory = value;
    }

    public string PersonasDirectory
    {
        get => Core.PersonasDirectory;
        set => Core.PersonasDirectory = value;
    }

    public string SafetyDirectory
    {
        get => Core.SafetyDirectory;
        set => Core.SafetyDirectory = value;
    }

    /// <summary>The SQLite file when no connection string is configured.</summary>
    public string DatabasePath => DatabaseOptions.SqliteFileIn(DataDirectory);

    /// <summary>This node's knowledge search index.</summary>
    public string KnowledgeIndexPath => Knowledge.IndexFileIn(DataDirectory);

    public static CliSettings Load() => new(new ConfigurationBuilder()
        .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
        .AddEnvironmentVariables()
        .Build());

    /// <summary>Every problem of the settings (after the command's own overrides), each naming its key.</summary>
    public IReadOnlyList<string> Problems() =>
    [
        .. ChatPlatformOptions.Validator.Problems(Core),
        .. InferenceSections.Model.Problems(Model),
        .. InferenceSections.Models.Problems(Models),
        .. DataSections.Database.Problems(Database),
        .. DataSections.Retention.Problems(Retention),
        .. KnowledgeSections.Knowledge.Problems(Knowledge),
        .. InferenceSections.Remote(() => Model.IsRemote).Problems(Remote),
        .. SafetySections.SafetyJudge.Problems(SafetyJudge),
        .. SafetySections.Webhooks.Problems(Webhooks),
    ];

    public static void ThrowIfInvalid(CliSettings settings)
    {
        var errors = settings.Problems();
        if (errors.Count > 0) throw new CliException(string.Join(Environment.NewLine, errors));
    }

    /// <summary>A factory for the configured store.</summary>
    public ChatDbContextFactory CreateDbContextFactory() => new(Database, DataDirectory);

    /// <summary>
    /// Opens the configured database as the server would (with <paramref name="dataDirectory"/> instead of the
    /// configured folder when given) and brings its schema up to date. With <paramref name="mustExist"/>, a missing
    /// SQLite file is an error naming it rather than a new empty database.
    /// </summary>
    public static async Task<(CliSettings Options, ChatDbContextFactory Factory)> OpenDatabaseAsync(
        string? dataDirectory, CancellationToken cancellationToken, bool mustExist = false)
    {
        var options = Load();
        if (dataDirectory is { Length: > 0 }) options.DataDirectory = dataDirectory;
        ThrowIfInvalid(options);
        if (mustExist && IsMissingSqlite(options))
            throw new CliException($"No database at {options.DatabasePath}: check --data-dir or ChatPlatform:DataDirectory.");
        return (options, await MigrateAsync(options, cancellationToken));
    }

    /// <summary>Whether the store is a SQLite file of the data folder that does not exist (yet).</summary>
    public static bool IsMissingSqlite(CliSettings options) =>
        options.Database.IsSqlite && string.IsNullOrWhiteSpace(options.Database.ConnectionString) && !File.Exists(options.DatabasePath);

    /// <summary>Opens the configured database and brings its schema up to date, as the server does at start-up.</summary>
    public static async Task<ChatDbContextFactory> MigrateAsync(CliSettings options, CancellationToken cancellationToken)
    {
        var factory = options.CreateDbContextFactory();
        try
        {
            await ChatDatabase.MigrateAsync(factory, cancellationToken);
        }
        catch (DatabaseMigrationException e)
        {
            throw new CliException(e.Message);
        }
        return factory;
    }
}
