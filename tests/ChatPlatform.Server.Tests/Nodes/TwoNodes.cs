using Npgsql;
using Xunit;

namespace ChatPlatform.Server.Tests.Nodes;

/// <summary>
/// Two real server processes on one fresh PostgreSQL database, each with its own port and data directory and the
/// same Direct Line token key, as two nodes behind a load balancer. The database is made on the server named by
/// <c>CHATPLATFORM_TEST_POSTGRES</c> and dropped afterwards; without one the test is skipped, saying why.
/// </summary>
public sealed class TwoNodes : IAsyncDisposable
{
    public const string PostgresVariable = "CHATPLATFORM_TEST_POSTGRES";
    public const string TokenKey = "two-nodes-shared-token-signing-key-0123456789";

    private readonly string _database;
    private readonly List<string> _directories = [];
    private readonly List<ServerProcess> _servers = [];

    private TwoNodes(string database) => _database = database;

    public HttpClient A { get; private set; } = null!;
    public HttpClient B { get; private set; } = null!;
    public ServerProcess ServerA => _servers[0];
    public ServerProcess ServerB => _servers[1];

    /// <summary>Node A's data directory (its uploads, its search index).</summary>
    public string DataA => _directories[0];

    /// <summary>The connection string both nodes use.</summary>
    public string ConnectionString { get; private set; } = "";

    private static string? PostgresServer =>
        Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } s && !s.Equals("none", StringComparison.OrdinalIgnoreCase)
            ? new NpgsqlConnectionStringBuilder(s) { Timeout = 120, CommandTimeout = 300 }.ConnectionString
            : null;

    /// <summary>Starts node A (which brings the new database to the current schema), then node B.</summary>
    public static async Task<TwoNodes> StartAsync(CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? settings = null)
    {
        Assert.SkipWhen(PostgresServer is null, $"{PostgresVariable} is not set: no PostgreSQL server for the two nodes (./test.sh starts one).");
        var nodes = new TwoNodes("chatplatform_nodes_" + Guid.NewGuid().ToString("N")[..12]);
        await using (var admin = new NpgsqlConnection(PostgresServer))
        {
            await admin.OpenAsync(cancellationToken);
            await using var create = new NpgsqlCommand($"CREATE DATABASE {nodes._database}", admin);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
        nodes.ConnectionString = new NpgsqlConnectionStringBuilder(PostgresServer) { Database = nodes._database }.ConnectionString;
        try
        {
            nodes.A = await nodes.StartNodeAsync(settings, cancellationToken);
            nodes.B = await nodes.StartNodeAsync(settings, cancellationToken);
        }
        catch
        {
            await nodes.DisposeAsync();
            throw;
        }
        return nodes;
    }

    private async Task<HttpClient> StartNodeAsync(IReadOnlyDictionary<string, string>? settings, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("chatplatform-node-").FullName;
        _directories.Add(directory);
        var port = ServerProcess.FreePort();
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        var environment = new Dictionary<string, string>(settings ?? new Dictionary<string, string>())
        {
            ["ChatPlatform__Database__Provider"] = "Postgres",
            ["ChatPlatform__Database__ConnectionString"] = ConnectionString,
            ["ChatPlatform__DirectLine__TokenSigningKey"] = TokenKey,
        };
        _servers.Add(await ServerProcess.StartAsync(port, directory, http, environment, cancellationToken));
        return http;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers)
            server.Dispose();
        A?.Dispose();
        B?.Dispose();
        // The test's own connections to the database go first, so dropping it leaves no broken pool behind.
        NpgsqlConnection.ClearAllPools();
        await using (var admin = new NpgsqlConnection(PostgresServer))
        {
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }
        foreach (var directory in _directories)
        {
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        }
    }
}
