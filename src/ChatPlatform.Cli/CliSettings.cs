using ChatPlatform.Core.Configuration;
using ChatPlatform.Data;
using Microsoft.Extensions.Configuration;

namespace ChatPlatform.Cli;

/// <summary>The same <c>ChatPlatform</c> settings the server reads: <c>appsettings.json</c> in the working folder, then environment variables.</summary>
internal static class CliSettings
{
    public static ChatPlatformOptions Load()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .Build();
        return configuration.GetSection(ChatPlatformOptions.SectionName).Get<ChatPlatformOptions>() ?? new ChatPlatformOptions();
    }

    public static void ThrowIfInvalid(ChatPlatformOptions options)
    {
        var errors = options.Validate();
        if (errors.Count > 0) throw new CliException(string.Join(Environment.NewLine, errors));
    }

    /// <summary>
    /// Opens the configured database as the server would (with <paramref name="dataDirectory"/> instead of the
    /// configured folder when given) and brings its schema up to date. With <paramref name="mustExist"/>, a missing
    /// SQLite file is an error naming it rather than a new empty database.
    /// </summary>
    public static async Task<(ChatPlatformOptions Options, ChatDbContextFactory Factory)> OpenDatabaseAsync(
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
    public static bool IsMissingSqlite(ChatPlatformOptions options) =>
        options.Database.IsSqlite && string.IsNullOrWhiteSpace(options.Database.ConnectionString) && !File.Exists(options.DatabasePath);

    /// <summary>Opens the configured database and brings its schema up to date, as the server does at start-up.</summary>
    public static async Task<ChatDbContextFactory> MigrateAsync(ChatPlatformOptions options, CancellationToken cancellationToken)
    {
        var factory = new ChatDbContextFactory(options);
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
