using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Xunit;

namespace ChatPlatform.Data.Tests;

public sealed class MigrationTests
{
    [Fact]
    public void SqliteModel_ComparedWithMigrations_HasNoPendingChanges()
    {
        using var db = new ChatDbContext(new DbContextOptionsBuilder<ChatDbContext>().UseSqlite("Data Source=:memory:").Options);
        Assert.False(db.Database.HasPendingModelChanges(), "The model changed without a migration: run dotnet ef migrations add NAME --context ChatDbContext.");
        Assert.NotEmpty(db.Database.GetMigrations());
    }

    [Fact]
    public void PostgresModel_ComparedWithMigrations_HasNoPendingChanges()
    {
        using var db = new PostgresChatDbContext(new DbContextOptionsBuilder<PostgresChatDbContext>().UseNpgsql("Host=127.0.0.1;Database=none").Options);
        Assert.False(db.Database.HasPendingModelChanges(), "The model changed without a migration: run dotnet ef migrations add NAME --context PostgresChatDbContext.");
        // The two providers keep separate migration sets: none of SQLite's shows up for PostgreSQL.
        using var sqlite = new ChatDbContext(new DbContextOptionsBuilder<ChatDbContext>().UseSqlite("Data Source=:memory:").Options);
        Assert.Contains(db.Database.GetMigrations(), m => m.EndsWith("_InitialCreate", StringComparison.Ordinal));
        Assert.Empty(db.Database.GetMigrations().Intersect(sqlite.Database.GetMigrations()));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task MigrateAsync_FreshDatabase_CreatesEveryTable(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        await using var db = await database.Factory.CreateDbContextAsync(TestContext.Current.CancellationToken);
        Assert.Empty(await db.Database.GetPendingMigrationsAsync(TestContext.Current.CancellationToken));
        var tables = await TablesAsync(database);
        foreach (var table in new[] { "conversations", "messages", "personas", "persona_versions", "safety_events", "feedback", "admin_accounts", "admin_roles", "api_clients", "channel_bindings", "audit_log", "knowledge_documents", "knowledge_chunks", "curated_answers" })
            Assert.Contains(table, tables);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task MigrateAsync_MigrationFailsHalfway_ReportsDatabaseAndLeavesNoPartialSchema(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider, migrate: false);
        // A table in the way of a late step of the migration makes it fail after earlier tables were created.
        await ExecuteAsync(database, "CREATE TABLE safety_events (x INTEGER)");

        var error = await Assert.ThrowsAsync<DatabaseMigrationException>(() => ChatDatabase.MigrateAsync(database.Factory, TestContext.Current.CancellationToken));

        Assert.Contains("InitialCreate", error.Message, StringComparison.Ordinal);
        Assert.Contains(provider == "Sqlite" ? "SQLite file" : "PostgreSQL database", error.Message, StringComparison.Ordinal);
        var tables = await TablesAsync(database);
        Assert.DoesNotContain("conversations", tables);
        Assert.DoesNotContain("messages", tables);
    }

    private static async Task ExecuteAsync(TestDatabase database, string sql)
    {
        await using var db = await database.Factory.CreateDbContextAsync(TestContext.Current.CancellationToken);
        if (database.Factory.IsPostgres) Directory.CreateDirectory(database.DataDirectory);
        else Directory.CreateDirectory(Path.GetDirectoryName(database.Factory.SqliteFile)!);
        await db.Database.ExecuteSqlRawAsync(sql, TestContext.Current.CancellationToken);
    }

    internal static async Task<List<string>> TablesAsync(TestDatabase database)
    {
        var sql = database.Factory.IsPostgres
            ? "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            : "SELECT name FROM sqlite_master WHERE type = 'table'";
        await using var db = await database.Factory.CreateDbContextAsync(TestContext.Current.CancellationToken);
        return await db.Database.SqlQueryRaw<string>(sql).ToListAsync(TestContext.Current.CancellationToken);
    }
}
