using ChatPlatform.Core.Configuration;
using Microsoft.Data.Sqlite;
using Npgsql;
using Xunit;

namespace ChatPlatform.Data.Tests;

/// <summary>
/// A fresh, migrated database for one test: a SQLite file in a temporary folder, or a new database on the
/// PostgreSQL server named by <c>CHATPLATFORM_TEST_POSTGRES</c> (a connection string; <c>./test.sh</c> starts one).
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    public const string PostgresVariable = "CHATPLATFORM_TEST_POSTGRES";

    private readonly string? _postgresName;

    private TestDatabase(string provider, ChatPlatformOptions options, DatabaseOptions database, string? postgresName)
    {
        Provider = provider;
        Options = options;
        Database = database;
        _postgresName = postgresName;
        Factory = new ChatDbContextFactory(database, options.DataDirectory);
    }

    public string Provider { get; }
    public ChatPlatformOptions Options { get; }
    public DatabaseOptions Database { get; }
    public ChatDbContextFactory Factory { get; }
    public string DataDirectory => Options.DataDirectory;

    /// <summary>Both providers; PostgreSQL runs where the variable is set and is skipped (saying why) elsewhere.</summary>
    public static TheoryData<string> Providers => new(DatabaseOptions.Sqlite, DatabaseOptions.Postgres);

    /// <summary>
    /// The server from the variable, with generous timeouts and a modest pool: the whole suite runs in parallel on
    /// small machines, where opening many backends at once can take longer than Npgsql's default 15 s.
    /// </summary>
    public static string? PostgresServer =>
        Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } s && !s.Equals("none", StringComparison.OrdinalIgnoreCase)
            ? new NpgsqlConnectionStringBuilder(s) { Timeout = 120, CommandTimeout = 300, MaxPoolSize = 16 }.ConnectionString
            : null;

    public static async Task<TestDatabase> CreateAsync(string provider, bool migrate = true)
    {
        var options = new ChatPlatformOptions { DataDirectory = Directory.CreateTempSubdirectory("chatplatform-data-").FullName };
        var database = new DatabaseOptions { Provider = provider };
        string? name = null;
        if (database.IsPostgres)
        {
            Assert.SkipWhen(PostgresServer is null, $"{PostgresVariable} is not set: no PostgreSQL server to test against (./test.sh starts one).");
            name = "chatplatform_test_" + Guid.NewGuid().ToString("N")[..12];
            await using (var admin = new NpgsqlConnection(PostgresServer))
            {
                await admin.OpenAsync(TestContext.Current.CancellationToken);
                await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
                await create.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
            }
            database.ConnectionString = new NpgsqlConnectionStringBuilder(PostgresServer) { Database = name }.ConnectionString;
        }
        var db = new TestDatabase(provider, options, database, name);
        if (migrate) await ChatDatabase.MigrateAsync(db.Factory, TestContext.Current.CancellationToken);
        return db;
    }

    public async ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        if (_postgresName is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var admin = new NpgsqlConnection(PostgresServer);
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_postgresName} WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
    }
}
