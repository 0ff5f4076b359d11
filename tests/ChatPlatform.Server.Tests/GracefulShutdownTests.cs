using System.Net;
using System.Net.Http.Json;
using ChatPlatform.Testing.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Xunit;

namespace ChatPlatform.Server.Tests;

/// <summary>
/// SIGTERM to a real server process while a reply streams: the reply finishes, a new turn during the drain gets 503,
/// and every acknowledged message is in the database afterwards.
/// </summary>
public sealed class GracefulShutdownTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("chatplatform-drain-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Sigterm_DuringAStreamedReply_ReplyFinishesNewTurnsGet503AndEverythingIsStored()
    {
        // A remote inference server that sends the first sentence, then holds the rest until the test has seen the drain refuse a turn.
        var firstSentence = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await TestHttpServer.StartAsync(async (http, _) =>
        {
            if (!HttpMethods.IsPost(http.Request.Method))
            {
                // The readiness probe's model list.
                await http.Response.WriteAsJsonAsync(new { data = new[] { new { id = "test-model" } } }, http.RequestAborted);
                return;
            }
            http.Response.ContentType = "text/event-stream";
            await Send(http, OpenAiResponses.Chunk(null));
            for (var i = 1; i <= 8; i++)
            {
                await Send(http, OpenAiResponses.Chunk($"Part {i} of the plan. "));
                if (i == 1)
                {
                    firstSentence.TrySetResult();
                    await release.Task.WaitAsync(TimeSpan.FromSeconds(60), http.RequestAborted);
                }
                await Task.Delay(50, http.RequestAborted);
            }
            await Send(http, OpenAiResponses.Chunk("Done.", "stop"));
            await Send(http, "[DONE]");
        }, Ct);
        var port = ServerProcess.FreePort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        using var server = await ServerProcess.StartAsync(port, _dataDir, http, new Dictionary<string, string>
        {
            ["ChatPlatform__Model__Backend"] = "remote",
            ["ChatPlatform__Remote__BaseUrl"] = new Uri(upstream.BaseUri, "v1").ToString(),
            ["ChatPlatform__Remote__Model"] = "test-model",
            ["ChatPlatform__Shutdown__DrainSeconds"] = "30",
        }, Ct);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat")
        {
            Content = JsonContent.Create(new { persona = "gradchat", conversationId = "drain-1", text = "How should I plan my week?", locale = "en" }),
        };
        using var streaming = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.OK, streaming.StatusCode);
        var reading = streaming.Content.ReadAsStringAsync(Ct);
        await firstSentence.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        server.Terminate();
        // Signal delivery is asynchronous: a turn sent before the server has seen SIGTERM is (rightly) admitted. The
        // server logs the drain once it refuses new turns; the web server keeps answering meanwhile.
        await server.WaitForOutputAsync("new turns are refused", TimeSpan.FromSeconds(30), Ct);
        using var refused = await http.PostAsJsonAsync("/api/chat", new { persona = "gradchat", text = "Are you there?", locale = "en" }, Ct);
        release.TrySetResult();
        var body = await reading;
        await server.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(60), Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Contains("shutting_down", await refused.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Contains("Part 8 of the plan.", body, StringComparison.Ordinal);
        Assert.Contains("event: done", body, StringComparison.Ordinal);
        Assert.Equal(0, server.ExitCode);
        Assert.Contains("every reply in progress has finished", server.OutputText, StringComparison.Ordinal);

        using var connection = new SqliteConnection($"Data Source={Path.Combine(_dataDir, "chatplatform.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT m.Role, m.Text FROM messages m JOIN conversations c ON c.Id = m.ConversationId WHERE c.ExternalId = 'drain-1' ORDER BY m.Sequence";
        var stored = new List<(string Role, string Text)>();
        using (var reader = command.ExecuteReader())
            while (reader.Read()) stored.Add((reader.GetString(0), reader.GetString(1)));
        Assert.Equal(["user", "assistant"], stored.Select(m => m.Role).ToArray());
        Assert.Contains("Part 8 of the plan.", stored[1].Text, StringComparison.Ordinal);
    }

    private static async Task Send(HttpContext http, string data)
    {
        await http.Response.WriteAsync($"data: {data}\n\n", http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }
}
