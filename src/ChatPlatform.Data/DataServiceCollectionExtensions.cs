using ChatPlatform.Core.Chat;
using ChatPlatform.Data.Conversations;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPlatform.Data;

public static class DataServiceCollectionExtensions
{
    /// <summary>Registers the store on a SQLite file (created with its folder when missing).</summary>
    public static IServiceCollection AddChatData(this IServiceCollection services, string databasePath)
    {
        var connectionString = SqliteConnectionString(databasePath);
        services.AddDbContextFactory<ChatDbContext>(o => o.UseSqlite(connectionString));
        services.AddSingleton<IConversationStore, EfConversationStore>();
        return services;
    }

    public static string SqliteConnectionString(string databasePath) => new SqliteConnectionStringBuilder
    {
        DataSource = Path.GetFullPath(databasePath),
        Mode = SqliteOpenMode.ReadWriteCreate,
        ForeignKeys = true,
        DefaultTimeout = 30,
        Pooling = true,
    }.ToString();

    /// <summary>
    /// Brings the database to the current schema (all pending migrations in one go) and switches SQLite to
    /// write-ahead logging so readers never block the writer.
    /// </summary>
    public static async Task MigrateChatDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        var factory = services.GetRequiredService<IDbContextFactory<ChatDbContext>>();
        await using var db = await factory.CreateDbContextAsync(cancellationToken);
        if (db.Database.GetDbConnection() is SqliteConnection sqlite && sqlite.DataSource is { Length: > 0 } file)
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        await db.Database.MigrateAsync(cancellationToken);
        await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
    }
}
