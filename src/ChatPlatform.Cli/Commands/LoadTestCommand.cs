using System.CommandLine;
using System.Text.Json;
using ChatPlatform.Cli.LoadTesting;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Cli.Commands;

/// <summary><c>chatplatform loadtest directline</c>: many concurrent Web Chat-like conversations against a running server.</summary>
internal static class LoadTestCommand
{
    private static readonly JsonSerializerOptions Indented = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static Command Create(CliConsole console)
    {
        var url = new Option<string[]>("--url")
        {
            Description = "The server, e.g. http://127.0.0.1:5000. Several nodes: repeat --url or separate them with commas; requests go to each in turn.",
            DefaultValueFactory = _ => ["http://127.0.0.1:5000"],
            AllowMultipleArgumentsPerToken = false,
        };
        var conversations = new Option<int>("--conversations") { Description = "Concurrent conversations.", DefaultValueFactory = _ => 100 };
        var duration = new Option<int>("--duration") { Description = "Seconds during which new messages are sent.", DefaultValueFactory = _ => 60 };
        var persona = new Option<string>("--persona") { Description = "Persona to talk to.", DefaultValueFactory = _ => "gradchat" };
        var replyTimeout = new Option<int>("--reply-timeout") { Description = "Seconds to wait for each reply before counting it missing.", DefaultValueFactory = _ => 120 };
        var json = new Option<string?>("--json") { Description = "Also write the figures as JSON to this file." };
        var database = new Option<string?>("--database")
        {
            Description = "The servers' database, a SQLite file or a PostgreSQL connection string: check that every message and reply is stored once.",
        };

        var directLine = new Command("directline", "Concurrent Direct Line conversations (token, WebSocket stream, messages) against a running server; a load tool, not a test.")
        {
            url, conversations, duration, persona, replyTimeout, json, database,
        };
        directLine.SetAction(async (parse, cancellationToken) =>
        {
            var servers = new List<Uri>();
            foreach (var value in parse.GetValue(url)!.SelectMany(u => u.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
            {
                if (!Uri.TryCreate(value, UriKind.Absolute, out var server) || server.Scheme is not ("http" or "https"))
                    throw new CliException($"--url must be an absolute http:// or https:// URL (got '{value}').");
                servers.Add(server);
            }
            if (servers.Count == 0) throw new CliException("--url names no server.");
            var count = parse.GetValue(conversations);
            if (count is < 1 or > 10_000) throw new CliException($"--conversations must be between 1 and 10000 (got {count}).");
            var seconds = parse.GetValue(duration);
            if (seconds is < 1 or > 3600) throw new CliException($"--duration must be between 1 and 3600 seconds (got {seconds}).");
            var waitSeconds = parse.GetValue(replyTimeout);
            if (waitSeconds is < 1 or > 3600) throw new CliException($"--reply-timeout must be between 1 and 3600 seconds (got {waitSeconds}).");
            var databasePath = parse.GetValue(database);
            if (databasePath is not null && !IsConnectionString(databasePath) && !File.Exists(databasePath)) throw new CliException($"--database: {databasePath} not found.");

            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = count + 16 }) { Timeout = TimeSpan.FromSeconds(60) };
            var at = string.Join(", ", servers);
            await console.Error.WriteLineAsync($"… {count} conversations with {parse.GetValue(persona)} at {at} for {seconds} s");
            DirectLineLoadReport report;
            try
            {
                report = await new DirectLineLoadTest(http).RunAsync(new DirectLineLoadSettings(servers, count, TimeSpan.FromSeconds(seconds), parse.GetValue(persona)!, TimeSpan.FromSeconds(waitSeconds)), cancellationToken);
            }
            catch (HttpRequestException e)
            {
                throw new CliException($"Cannot reach {at}: {e.Message}");
            }
            await console.Out.WriteLineAsync(report.ToTable());

            StoreCheck? check = null;
            if (databasePath is not null)
            {
                check = await CheckAsync(databasePath, report, cancellationToken);
                await console.Out.WriteLineAsync($"store: {check.Conversations} conversations checked, {check.UserRows} user and {check.ReplyRows} reply rows, {check.LostRows} lost, {check.DuplicateRows} duplicated");
            }
            if (parse.GetValue(json) is { } jsonPath)
            {
                await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(new { report, store = check }, Indented), cancellationToken);
                await console.Out.WriteLineAsync($"wrote {jsonPath}");
            }
            return report.Passed && (check?.LostRows ?? 0) == 0 && (check?.DuplicateRows ?? 0) == 0 ? 0 : 1;
        });
        return new Command("loadtest", "Load tools for the channels.") { directLine };
    }

    /// <summary>What the store holds for the run's conversations.</summary>
    internal sealed record StoreCheck(int Conversations, int UserRows, int ReplyRows, int LostRows, int DuplicateRows);

    private static bool IsConnectionString(string database) => database.Contains('=', StringComparison.Ordinal);

    /// <summary>
    /// Each message the servers accepted must be stored once, and each reply the client saw: fewer rows are lost rows.
    /// More user rows than accepted messages, or more replies than messages not answered busy, are duplicated rows
    /// (a reply that came after the client stopped waiting is stored but was not seen, and is neither).
    /// </summary>
    internal static async Task<StoreCheck> CheckAsync(string database, DirectLineLoadReport report, CancellationToken cancellationToken)
    {
        var options = new DatabaseOptions();
        if (IsConnectionString(database))
        {
            options.Provider = DatabaseOptions.Postgres;
            options.ConnectionString = database;
        }
        else
        {
            options.ConnectionString = new SqliteConnectionStringBuilder { DataSource = Path.GetFullPath(database), Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ConnectionString;
        }
        await using var db = await new ChatDbContextFactory(options, Directory.GetCurrentDirectory()).CreateDbContextAsync(cancellationToken);
        var ids = report.AcceptedByConversation.Keys.ToList();
        var rows = await db.Messages
            .Join(db.Conversations.Where(c => c.Channel == DirectLineLoadTest.StoreChannel && ids.Contains(c.ExternalId)), m => m.ConversationId, c => c.Id, (m, c) => new { c.ExternalId, m.Role })
            .GroupBy(r => new { r.ExternalId, r.Role })
            .Select(g => new { g.Key.ExternalId, g.Key.Role, Count = g.Count() })
            .ToListAsync(cancellationToken);
        var counts = rows.ToDictionary(r => (r.ExternalId, r.Role), r => r.Count);
        int users = 0, replies = 0, lost = 0, duplicated = 0;
        foreach (var (conversation, accepted) in report.AcceptedByConversation)
        {
            var u = counts.GetValueOrDefault((conversation, "user"));
            var a = counts.GetValueOrDefault((conversation, "assistant"));
            var seen = report.RepliesByConversation.GetValueOrDefault(conversation);
            var answerable = accepted - report.BusyByConversation.GetValueOrDefault(conversation);
            users += u;
            replies += a;
            lost += Math.Max(0, accepted - u) + Math.Max(0, seen - a);
            duplicated += Math.Max(0, u - accepted) + Math.Max(0, a - answerable);
        }
        return new StoreCheck(report.AcceptedByConversation.Count, users, replies, lost, duplicated);
    }
}
