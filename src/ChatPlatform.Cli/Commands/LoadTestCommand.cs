using System.CommandLine;
using System.Text.Json;
using ChatPlatform.Channels.DirectLine;
using Microsoft.Data.Sqlite;

namespace ChatPlatform.Cli.Commands;

/// <summary><c>chatplatform loadtest directline</c>: many concurrent Web Chat-like conversations against a running server.</summary>
internal static class LoadTestCommand
{
    private static readonly JsonSerializerOptions Indented = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static Command Create(CliConsole console)
    {
        var url = new Option<string>("--url") { Description = "The server, e.g. http://127.0.0.1:5000.", DefaultValueFactory = _ => "http://127.0.0.1:5000" };
        var conversations = new Option<int>("--conversations") { Description = "Concurrent conversations.", DefaultValueFactory = _ => 100 };
        var duration = new Option<int>("--duration") { Description = "Seconds during which new messages are sent.", DefaultValueFactory = _ => 60 };
        var persona = new Option<string>("--persona") { Description = "Persona to talk to.", DefaultValueFactory = _ => "gradchat" };
        var json = new Option<string?>("--json") { Description = "Also write the figures as JSON to this file." };
        var database = new Option<string?>("--database") { Description = "The server's SQLite file: check that every answered message and its reply are stored." };

        var directLine = new Command("directline", "Concurrent Direct Line conversations (token, WebSocket stream, messages) against a running server; a load tool, not a test.")
        {
            url, conversations, duration, persona, json, database,
        };
        directLine.SetAction(async (parse, cancellationToken) =>
        {
            if (!Uri.TryCreate(parse.GetValue(url), UriKind.Absolute, out var server) || server.Scheme is not ("http" or "https"))
                throw new CliException($"--url must be an absolute http:// or https:// URL (got '{parse.GetValue(url)}').");
            var count = parse.GetValue(conversations);
            if (count is < 1 or > 10_000) throw new CliException($"--conversations must be between 1 and 10000 (got {count}).");
            var seconds = parse.GetValue(duration);
            if (seconds is < 1 or > 3600) throw new CliException($"--duration must be between 1 and 3600 seconds (got {seconds}).");
            var databasePath = parse.GetValue(database);
            if (databasePath is not null && !File.Exists(databasePath)) throw new CliException($"--database: {databasePath} not found.");

            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = count + 16 }) { Timeout = TimeSpan.FromSeconds(60) };
            await console.Error.WriteLineAsync($"… {count} conversations with {parse.GetValue(persona)} at {server} for {seconds} s");
            DirectLineLoadReport report;
            try
            {
                report = await new DirectLineLoadTest(http).RunAsync(new DirectLineLoadSettings(server, count, TimeSpan.FromSeconds(seconds), parse.GetValue(persona)!), cancellationToken);
            }
            catch (HttpRequestException e)
            {
                throw new CliException($"Cannot reach {server}: {e.Message}");
            }
            await console.Out.WriteLineAsync(report.ToTable());

            StoreCheck? check = null;
            if (databasePath is not null)
            {
                check = Check(databasePath, report);
                await console.Out.WriteLineAsync($"store: {check.Conversations} conversations checked, {check.UserRows} user and {check.ReplyRows} reply rows, {check.LostRows} lost");
            }
            if (parse.GetValue(json) is { } jsonPath)
            {
                await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(new { report, store = check }, Indented), cancellationToken);
                await console.Out.WriteLineAsync($"wrote {jsonPath}");
            }
            return report.Passed && (check?.LostRows ?? 0) == 0 ? 0 : 1;
        });
        return new Command("loadtest", "Load tools for the channels.") { directLine };
    }

    /// <summary>What the store holds for the run's conversations.</summary>
    internal sealed record StoreCheck(int Conversations, int UserRows, int ReplyRows, int LostRows);

    /// <summary>Each reply the client saw must be stored with its question: fewer rows than replies are lost rows.</summary>
    internal static StoreCheck Check(string databasePath, DirectLineLoadReport report)
    {
        using var connection = new SqliteConnection($"Data Source={databasePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        int users = 0, replies = 0, lost = 0;
        foreach (var (conversation, seen) in report.RepliesByConversation)
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT SUM(m.Role = 'user'), SUM(m.Role = 'assistant') FROM messages m
                JOIN conversations c ON c.Id = m.ConversationId WHERE c.Channel = 'directline' AND c.ExternalId = $id
                """;
            command.Parameters.AddWithValue("$id", conversation);
            using var reader = command.ExecuteReader();
            reader.Read();
            var u = reader.IsDBNull(0) ? 0 : reader.GetInt32(0);
            var a = reader.IsDBNull(1) ? 0 : reader.GetInt32(1);
            users += u;
            replies += a;
            lost += Math.Max(0, seen - u) + Math.Max(0, seen - a);
        }
        return new StoreCheck(report.RepliesByConversation.Count, users, replies, lost);
    }
}
