using System.Data.Common;
using ChatPlatform.Core.Configuration;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace ChatPlatform.Data;

/// <summary>
/// Opens the configured database: SQLite (default, one file) or PostgreSQL (<c>ChatPlatform:Database:Provider</c> = <c>Postgres</c>).
/// The server and the <c>chatplatform data</c> commands share this, so both see the same store.
/// </summary>
public sealed class ChatDbContextFactory : IDbContextFactory<ChatDbContext>
{
    private readonly DbContextOptions<ChatDbContext>? _sqlite;
    private readonly DbContextOptions<PostgresChatDbContext>? _postgres;

    /// <param name="database">The <c>ChatPlatform:Database</c> section.</param>
    /// <param name="dataDirectory">Where the SQLite file is when <see cref="DatabaseOptions.ConnectionString"/> is empty.</param>
    public ChatDbContextFactory(DatabaseOptions database, string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(database);
        IsPostgres = database.IsPostgres;
        if (IsPostgres)
        {
            ConnectionString = database.ConnectionString!;
            _postgres = new DbContextOptionsBuilder<PostgresChatDbContext>().UseNpgsql(ConnectionString).Options;
        }
        else
        {
            ConnectionString = string.IsNullOrWhiteSpace(database.ConnectionString)
                ? ChatDatabase.SqliteConnectionString(DatabaseOptions.SqliteFileIn(dataDirectory))
                : database.ConnectionString;
            _sqlite = new DbContextOptionsBuilder<ChatDbContext>()
                .UseSqlite(ConnectionString)
                .AddInterceptors(SqlitePragmas.Instance)
                .Options;
        }
    }

    /// <summary>The default store: SQLite, <c>chatplatform.db</c> in <paramref name="dataDirectory"/>.</summary>
    public ChatDbContextFactory(string dataDirectory) : this(new DatabaseOptions(), dataDirectory)
    {
    }

    public bool IsPostgres { get; }

    public string ConnectionString { get; }

    /// <summary>The SQLite file, or null on PostgreSQL.</summary>
    public string? SqliteFile => IsPostgres ? null : new SqliteConnectionStringBuilder(ConnectionString).DataSource;

    public ChatDbContext CreateDbContext() => IsPostgres ? new PostgresChatDbContext(_postgres!) : new ChatDbContext(_sqlite!);

    public Task<ChatDbContext> CreateDbContextAsync(CancellationToken cancellationToken = default) => Task.FromResult(CreateDbContext());
}

public static class ChatDatabase
{
    /// <summary>How long a SQLite writer waits for another one before giving up.</summary>
    public const int BusyTimeoutSeconds = 30;

    public static string SqliteConnectionString(string databasePath) => new SqliteConnectionStringBuilder
    {
        DataSource = Path.GetFullPath(databasePath),
        Mode = SqliteOpenMode.ReadWriteCreate,
        ForeignKeys = true,
        DefaultTimeout = BusyTimeoutSeconds,
        Pooling = true,
    }.ToString();

    /// <summary>
    /// Brings the database to the current schema. Each migration runs in one transaction, so a failure leaves
    /// no half-built schema behind; it is reported as a <see cref="DatabaseMigrationException"/> naming the
    /// database and the migration. SQLite is switched to write-ahead logging first.
    /// </summary>
    public static async Task MigrateAsync(IDbContextFactory<ChatDbContext> contexts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contexts);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var where = Describe(db);
        IReadOnlyList<string> pending = [];
        try
        {
            if (db.Database.IsSqlite() && db.Database.GetDbConnection() is SqliteConnection sqlite && sqlite.DataSource is { Length: > 0 } file)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
                await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
            }
            pending = [.. await db.Database.GetPendingMigrationsAsync(cancellationToken)];
            await db.Database.MigrateAsync(cancellationToken);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or DbUpdateException)
        {
            var names = pending.Count > 0 ? string.Join(", ", pending) : "none pending";
            throw new DatabaseMigrationException(
                $"The database schema of {where} could not be brought up to date (migrations: {names}): {e.Message} " +
                "The failed migration was rolled back; fix the cause and start again.", e);
        }
    }

    /// <summary>Provider and target without secrets: the SQLite file or the PostgreSQL host and database.</summary>
    public static string Describe(ChatDbContext db)
    {
        ArgumentNullException.ThrowIfNull(db);
        var connection = db.Database.GetDbConnection();
        return db.Database.IsSqlite()
            ? $"SQLite file '{connection.DataSource}'"
            : $"PostgreSQL database '{connection.Database}' on '{connection.DataSource}'";
    }
}

/// <summary>The schema could not be brought up to date at start-up.</summary>
public sealed class DatabaseMigrationException(string message, Exception inner) : Exception(message, inner);

/// <summary>Every SQLite connection waits for a busy writer, enforces foreign keys and syncs each commit to disk.</summary>
internal sealed class SqlitePragmas : DbConnectionInterceptor
{
    public static readonly SqlitePragmas Instance = new();

    private const string Pragmas = "PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        var command = connection.CreateCommand();
        await using (command.ConfigureAwait(false))
        {
            command.CommandText = Pragmas;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
