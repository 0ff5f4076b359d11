using Xunit;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace ChatPlatform.Server.Tests;

public sealed class ChatApiTests : IClassFixture<ServerFactory>
{
    private readonly ServerFactory _factory;

    public ChatApiTests(ServerFactory factory) => _factory = factory;

    private static async Task<List<(string Event, JsonElement Data)>> ReadEvents(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var events = new List<(string, JsonElement)>();
        foreach (var block in body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = block.Split('\n');
            var name = lines.FirstOrDefault(l => l.StartsWith("event: ", StringComparison.Ordinal))?[7..] ?? "message";
            var data = string.Join("\n", lines.Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l[6..]));
            events.Add((name, JsonDocument.Parse(data).RootElement.Clone()));
        }
        return events;
    }

    private long CountRows(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_factory.DataDirectory, "chatplatform.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    [Fact]
    public async Task Startup_ReferencePacks_RecordsOneActiveVersionPerPersona()
    {
        using var client = _factory.CreateClient();
        using var health = await client.GetAsync("/healthz", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var packs = Directory.GetDirectories(Testing.RepoPaths.Personas).Count(d => File.Exists(Path.Combine(d, "persona.yaml")));
        Assert.Equal(packs, CountRows("SELECT COUNT(*) FROM persona_versions WHERE Status = 'active'"));
        Assert.Equal(packs, CountRows("SELECT COUNT(*) FROM audit_log WHERE Action = 'persona.version'"));
    }

    [Fact]
    public async Task PostChat_ValidRequest_StreamsDeltasThenDoneAndStoresBothMessages()
    {
        var client = _factory.CreateClient();
        var response = await client.PostAsJsonAsync("/api/chat",
            new { persona = "gradchat", conversationId = "sse-1", text = "How should I prepare for graduate school?", locale = "en" },
            TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await ReadEvents(response);
        var deltas = events.Where(e => e.Event == "delta").Select(e => e.Data.GetProperty("text").GetString()).ToList();
        Assert.NotEmpty(deltas);
        Assert.Equal("done", events[^1].Event);
        Assert.Equal("gradchat", events[^1].Data.GetProperty("persona").GetString());

        Assert.Equal(2, CountRows("SELECT COUNT(*) FROM messages m JOIN conversations c ON c.Id = m.ConversationId WHERE c.ExternalId = 'sse-1'"));
        Assert.Equal(1, CountRows($"SELECT COUNT(*) FROM messages m JOIN conversations c ON c.Id = m.ConversationId WHERE c.ExternalId = 'sse-1' AND m.Role = 'assistant' AND m.Text = '{string.Concat(deltas).Replace("'", "''", StringComparison.Ordinal)}'"));
    }

    [Fact]
    public async Task PostChat_PersonalData_RedactedBeforeItIsStored()
    {
        var client = _factory.CreateClient();
        var response = await client.PostAsJsonAsync("/api/chat",
            new { persona = "gradchat", conversationId = "pii-1", text = "Please write to alice.wong@example.com or call +1 202-555-0143 about my application.", locale = "en" },
            TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await ReadEvents(response);

        Assert.Equal(1, CountRows("SELECT COUNT(*) FROM messages m JOIN conversations c ON c.Id = m.ConversationId WHERE c.ExternalId = 'pii-1' AND m.Role = 'user'"));
        Assert.Equal(0, CountRows("SELECT COUNT(*) FROM messages WHERE Text LIKE '%alice.wong@example.com%' OR Text LIKE '%555-0143%'"));
    }

    [Fact]
    public async Task PostChat_SecondTurn_AppendsToTheSameConversationInOrder()
    {
        var client = _factory.CreateClient();
        string? token = null;
        foreach (var text in new[] { "第一个问题", "second question" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat") { Content = JsonContent.Create(new { persona = "gradchat", conversationId = "sse-2", text }) };
            if (token is not null)
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            token = (await ReadEvents(response))[^1].Data.GetProperty("conversationToken").GetString();
        }

        Assert.Equal(4, CountRows("SELECT COUNT(*) FROM messages m JOIN conversations c ON c.Id = m.ConversationId WHERE c.ExternalId = 'sse-2'"));
        Assert.Equal(1, CountRows("SELECT COUNT(*) FROM messages m JOIN conversations c ON c.Id = m.ConversationId WHERE c.ExternalId = 'sse-2' AND m.Sequence = 1 AND m.Text = '第一个问题'"));
        Assert.Equal(1, CountRows("SELECT COUNT(*) FROM messages m JOIN conversations c ON c.Id = m.ConversationId WHERE c.ExternalId = 'sse-2' AND m.Sequence = 3 AND m.Text = 'second question'"));
    }

    [Theory]
    [InlineData("""{"persona":"nobody","conversationId":"e1","text":"hi"}""", HttpStatusCode.NotFound, "unknown_persona")]
    [InlineData("""{"persona":"gradchat","conversationId":"e2","text":"   "}""", HttpStatusCode.BadRequest, "empty_message")]
    [InlineData("""{"conversationId":"e4","text":"hi"}""", HttpStatusCode.BadRequest, "missing_persona")]
    [InlineData("""{"persona":"gradchat","conversationId":"e3","text":"hi","locale":"xx-YY"}""", HttpStatusCode.BadRequest, "unknown_locale")]
    [InlineData("""{"persona": "gradchat", "text": """, HttpStatusCode.BadRequest, "invalid_json")]
    [InlineData("""[1, 2, 3]""", HttpStatusCode.BadRequest, "invalid_json")]
    public async Task PostChat_BadRequest_ClearProblemWithoutStackTrace(string body, HttpStatusCode status, string code)
    {
        var client = _factory.CreateClient();
        var response = await client.PostAsync("/api/chat", new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);

        Assert.Equal(status, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostChat_MessageOverLimit_413AndNothingStored()
    {
        var client = _factory.CreateClient();
        var response = await client.PostAsJsonAsync("/api/chat",
            new { persona = "gradchat", conversationId = "big-1", text = new string('a', 501) }, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.Contains("500", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, CountRows("SELECT COUNT(*) FROM conversations WHERE ExternalId = 'big-1'"));
    }

    [Fact]
    public async Task PostChat_HugeBody_413()
    {
        var client = _factory.CreateClient();
        var body = $$"""{"persona":"gradchat","conversationId":"huge","text":"{{new string('a', 400_000)}}"}""";
        var response = await client.PostAsync("/api/chat", new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task GetPersonas_ListsReferencePacksWithGreetings()
    {
        var client = _factory.CreateClient();
        var personas = await client.GetFromJsonAsync<JsonElement[]>("/api/personas", TestContext.Current.CancellationToken);

        var ids = personas!.Select(p => p.GetProperty("id").GetString()).ToList();
        Assert.Contains("mindchat", ids);
        Assert.Contains("sunsimiao", ids);
        Assert.Contains("gradchat", ids);
        Assert.All(personas!, p => Assert.False(string.IsNullOrWhiteSpace(p.GetProperty("greeting").GetProperty("en").GetString())));
    }

    [Fact]
    public async Task GetIndex_ServesChatPage()
    {
        var client = _factory.CreateClient();
        var html = await client.GetStringAsync("/", TestContext.Current.CancellationToken);
        Assert.Contains("/api/chat", html, StringComparison.Ordinal);
    }
}
