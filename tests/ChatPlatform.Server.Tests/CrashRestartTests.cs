using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using ChatPlatform.Testing;
using Microsoft.Data.Sqlite;
using Xunit;

namespace ChatPlatform.Server.Tests;

/// <summary>The real server as a child process on a loopback port: chat load, SIGKILL, restart, count what survived.</summary>
public sealed class CrashRestartTests : IDisposable
{
    private const int Clients = 4;
    private readonly string _dataDir = Directory.CreateTempSubdirectory("chatplatform-crash-").FullName;
    private readonly ConcurrentQueue<string> _serverOutput = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Server_KilledUnderChatLoadAndRestarted_KeepsEveryConversationAndMessageClientsSaw()
    {
        var port = ServerProcess.FreePort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };

        // Each client talks in its own conversation and counts the turns the server completed ("done" received).
        var completed = new int[Clients];
        // The first turn starts the conversation; the later ones continue it with the token the server returned.
        var tokens = new string?[Clients];
        using (var server = await StartServerAsync(port, http))
        {
            using var load = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
            {
                for (var turn = 1; !load.IsCancellationRequested; turn++)
                {
                    try
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat")
                        {
                            Content = JsonContent.Create(new { persona = "gradchat", conversationId = $"load-{c}", text = $"client {c} question {turn}", userId = $"user-{c}" }),
                        };
                        if (tokens[c] is { } token)
                            request.Headers.Authorization = new("Bearer", token);
                        using var response = await http.SendAsync(request, load.Token);
                        if (response.Headers.TryGetValues("X-Conversation-Token", out var issued))
                            tokens[c] = issued.Single();
                        var body = await response.Content.ReadAsStringAsync(load.Token);
                        if (response.StatusCode == HttpStatusCode.OK && body.Contains("event: done", StringComparison.Ordinal))
                            Interlocked.Increment(ref completed[c]);
                    }
                    catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
                    {
                        return;   // the server went away mid-request
                    }
                }
            }, Ct)).ToList();

            // Kill it without warning while the clients are in the middle of turns.
            var deadline = Stopwatch.StartNew();
            while (completed.Sum() < 12 && deadline.Elapsed < TimeSpan.FromSeconds(90))
                await Task.Delay(50, Ct);
            server.Kill();
            await server.WaitForExitAsync(Ct);
            await load.CancelAsync();
            await Task.WhenAll(clients);
        }
        var seen = completed.ToArray();
        Assert.True(seen.Sum() >= 12, $"Only {seen.Sum()} turns completed before the kill. Server output:\n{string.Join('\n', _serverOutput)}");

        using (var restarted = await StartServerAsync(port, http))
        {
            Assert.Equal("ok", Scalar("PRAGMA integrity_check"));
            var conversations = Convert.ToInt32(Scalar("SELECT COUNT(*) FROM conversations"), System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(conversations >= seen.Count(n => n > 0), $"{conversations} conversations after restart; clients saw {seen.Count(n => n > 0)}");
            for (var c = 0; c < Clients; c++)
            {
                var stored = Convert.ToInt32(Scalar($"SELECT COUNT(*) FROM messages m JOIN conversations v ON v.Id = m.ConversationId WHERE v.ExternalId = 'load-{c}'"), System.Globalization.CultureInfo.InvariantCulture);
                // Every completed turn left two messages; the turn in flight at the kill may have left its question (and part of a reply).
                Assert.InRange(stored, 2 * seen[c], 2 * seen[c] + 2);
            }

            // The restarted server carries on where the conversations stopped; the token from before the kill still holds.
            // A client that completed a turn holds its token (a starved one may have none although its conversation exists).
            var c0 = Array.FindIndex(seen, n => n > 0);
            using var nextRequest = new HttpRequestMessage(HttpMethod.Post, "/api/chat")
            {
                Content = JsonContent.Create(new { persona = "gradchat", conversationId = $"load-{c0}", text = "after the restart" }),
            };
            nextRequest.Headers.Authorization = new("Bearer", tokens[c0]);
            using var next = await http.SendAsync(nextRequest, Ct);
            Assert.Equal(HttpStatusCode.OK, next.StatusCode);
            Assert.Contains("event: done", await next.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
            Assert.Equal("after the restart", Scalar($"SELECT m.Text FROM messages m JOIN conversations v ON v.Id = m.ConversationId WHERE v.ExternalId = 'load-{c0}' AND m.Role = 'user' ORDER BY m.Sequence DESC LIMIT 1"));
            restarted.Kill();
            await restarted.WaitForExitAsync(Ct);
        }
    }

    private Task<ServerProcess> StartServerAsync(int port, HttpClient http) =>
        ServerProcess.StartAsync(port, _dataDir, http, new Dictionary<string, string> { ["ChatPlatform__Model__MaxQueuedRequests"] = "64" }, Ct, _serverOutput);

    private object? Scalar(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_dataDir, "chatplatform.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
