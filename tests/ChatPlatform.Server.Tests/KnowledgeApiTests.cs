using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPlatform.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests;

/// <summary>The reference packs' knowledge/ folders are imported at start-up; replies carry their sources on every API.</summary>
public sealed class KnowledgeApiTests : IClassFixture<ServerFactory>
{
    private readonly ServerFactory _factory;

    public KnowledgeApiTests(ServerFactory factory)
    {
        // Four passages of the byte-level tiny model's tokens need more than the default test window.
        factory.Settings["ChatPlatform:Model:ContextSize"] = "4096";
        _factory = factory;
    }

    private const string DeadlineQuestion = "When is the application deadline for the September intake?";
    private const string DeadlinePassage = "admissions-guide.en.md#Application deadlines";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task PostChat_QuestionAnsweredByPackDocument_CitationsEventBeforeDone()
    {
        var response = await _factory.CreateClient().PostAsJsonAsync("/api/chat",
            new { persona = "gradchat", conversationId = "cite-1", text = DeadlineQuestion, locale = "en" }, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(Ct);
        var blocks = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        var citations = Array.FindIndex(blocks, b => b.StartsWith("event: citations", StringComparison.Ordinal));
        var done = Array.FindIndex(blocks, b => b.StartsWith("event: done", StringComparison.Ordinal));
        Assert.True(citations >= 0 && citations == done - 1, body);
        using var data = JsonDocument.Parse(blocks[citations].Split("data: ")[1]);
        var first = data.RootElement[0];
        Assert.Equal(1, first.GetProperty("index").GetInt32());
        Assert.Contains(data.RootElement.EnumerateArray(), c => c.GetProperty("id").GetString() == DeadlinePassage);
        Assert.Equal("Sample University Graduate Admissions Guide", first.GetProperty("title").GetString());
        Assert.Equal("https://example.edu/graduate/admissions", first.GetProperty("url").GetString());
    }

    [Fact]
    public async Task PostCompletion_GroundedReply_CitationsFieldOnCompletionAndFinalChunk()
    {
        var http = _factory.CreateClient();
        var key = await _factory.Services.GetRequiredService<ChatPlatform.Core.ApiKeys.ApiKeys>().CreateAsync("knowledge-" + Guid.NewGuid().ToString("N")[..8], "test", Ct);
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        var request = new { model = "gradchat", messages = new[] { new { role = "user", content = DeadlineQuestion } } };

        var plain = await http.PostAsJsonAsync("/v1/chat/completions", request, Ct);
        var streamed = await http.PostAsJsonAsync("/v1/chat/completions", new { request.model, request.messages, stream = true }, Ct);

        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        using var completion = JsonDocument.Parse(await plain.Content.ReadAsStringAsync(Ct));
        Assert.Contains(completion.RootElement.GetProperty("citations").EnumerateArray(), c => c.GetProperty("id").GetString() == DeadlinePassage);
        var chunks = (await streamed.Content.ReadAsStringAsync(Ct)).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(b => b["data: ".Length..]).Where(d => d != "[DONE]").Select(d => JsonDocument.Parse(d).RootElement).ToList();
        var final = chunks.Single(c => c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind == JsonValueKind.String);
        Assert.Contains(final.GetProperty("citations").EnumerateArray(), c => c.GetProperty("id").GetString() == DeadlinePassage);
        Assert.All(chunks.Where(c => c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind == JsonValueKind.Null),
            c => Assert.False(c.TryGetProperty("citations", out _)));
    }

    [Fact]
    public async Task PostChat_CuratedQuestion_AnsweredWithoutModelAndHitCounted()
    {
        var model = new ScriptedChatClient("model text") { FailWith = new InvalidOperationException("the model was called") };
        await using var app = _factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<IChatClient>(model)));

        var response = await app.CreateClient().PostAsJsonAsync("/api/chat",
            new { persona = "gradchat", conversationId = "curated-1", text = "Can I have my application fee refunded?", locale = "en" }, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("The 50-pound application fee is not refundable", body, StringComparison.Ordinal);
        Assert.Contains("\"finishReason\":\"curated\"", body, StringComparison.Ordinal);
        Assert.Empty(model.Calls);
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_factory.DataDirectory, "chatplatform.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT Hits FROM curated_answers WHERE Key = 'gradchat-fee-refund'";
        Assert.True((long)command.ExecuteScalar()! >= 1);
    }
}
