using System.Text.Json;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Inference.Remote;
using ChatPlatform.Testing;
using ChatPlatform.Testing.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace ChatPlatform.Inference.Tests.Remote;

public sealed class RemoteChatClientTests
{
    private static readonly ChatMessage[] Messages = [new(ChatRole.System, "You are helpful."), new(ChatRole.User, "你好, hello")];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static RemoteChatClient Client(TestHttpServer server, Action<RemoteOptions>? configure = null)
    {
        var options = new RemoteOptions { BaseUrl = new Uri(server.BaseUri, "v1").ToString(), Model = "qwen2.5", TimeoutSeconds = 30, MaxRetries = 2 };
        configure?.Invoke(options);
        return new RemoteChatClient(options, NullLogger<RemoteChatClient>.Instance);
    }

    private static async Task<List<ChatResponseUpdate>> CollectAsync(IAsyncEnumerable<ChatResponseUpdate> updates)
    {
        var list = new List<ChatResponseUpdate>();
        await foreach (var update in updates) list.Add(update);
        return list;
    }

    [Fact]
    public async Task GetStreamingResponseAsync_StreamedChunks_YieldsTextInOrderAndSendsSettings()
    {
        await using var server = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteReplyAsync(context, "Hel", "lo ", "世界"), Token);
        using var client = Client(server, o => o.ApiKey = "secret-key");
        var options = new ChatOptions { Temperature = 0.5f, TopP = 0.8f, MaxOutputTokens = 64, Seed = 42, StopSequences = ["<end>"] };

        var updates = await CollectAsync(client.GetStreamingResponseAsync(Messages, options, Token));

        Assert.Equal("Hello 世界", string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(ChatFinishReason.Stop, updates.Last(u => u.FinishReason is not null).FinishReason);
        var usage = Assert.Single(updates.SelectMany(u => u.Contents).OfType<UsageContent>());
        Assert.Equal(3, usage.Details.OutputTokenCount);

        var request = Assert.Single(server.Requests);
        Assert.Equal("/v1/chat/completions", request.PathAndQuery);
        Assert.Equal("Bearer secret-key", request.Header("Authorization"));
        var body = JsonDocument.Parse(request.Body).RootElement;
        Assert.Equal("qwen2.5", body.GetProperty("model").GetString());
        Assert.True(body.GetProperty("stream").GetBoolean());
        Assert.Equal(0.5, body.GetProperty("temperature").GetDouble(), 3);
        Assert.Equal(0.8, body.GetProperty("top_p").GetDouble(), 3);
        Assert.Equal(64, body.GetProperty("max_tokens").GetInt32());
        Assert.Equal(42, body.GetProperty("seed").GetInt64());
        Assert.Equal("<end>", body.GetProperty("stop")[0].GetString());
        Assert.Equal("system", body.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.Equal("你好, hello", body.GetProperty("messages")[1].GetProperty("content").GetString());
    }

    [Fact]
    public async Task GetStreamingResponseAsync_UsePersonaAsModel_SendsPersonaIdAsModel()
    {
        await using var server = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteReplyAsync(context, "ok"), Token);
        using var client = Client(server, o => o.UsePersonaAsModel = true);
        var options = new ChatOptions { AdditionalProperties = new() { [PersonaChatOptions.PersonaKey] = "mindchat" } };

        await CollectAsync(client.GetStreamingResponseAsync(Messages, options, Token));
        await CollectAsync(client.GetStreamingResponseAsync(Messages, null, Token));

        var models = server.Requests.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("model").GetString()).ToList();
        Assert.Equal(["mindchat", "qwen2.5"], models);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_ServerFailsThenRecovers_RetriesAndStreams()
    {
        var calls = 0;
        await using var server = await TestHttpServer.StartAsync((context, _) => Interlocked.Increment(ref calls) switch
        {
            1 => OpenAiResponses.WriteErrorAsync(context, 500, "warming up"),
            2 => OpenAiResponses.WriteErrorAsync(context, 429, "slots full", retryAfterSeconds: 0),
            _ => OpenAiResponses.WriteReplyAsync(context, "after ", "retry"),
        }, Token);
        using var client = Client(server);

        var updates = await CollectAsync(client.GetStreamingResponseAsync(Messages, null, Token));

        Assert.Equal("after retry", string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_ServerKeepsFailing_GivesUpAfterMaxRetriesWithItsMessage()
    {
        await using var server = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteErrorAsync(context, 500, "CUDA out of memory"), Token);
        using var client = Client(server, o => o.MaxRetries = 1);

        var error = await Assert.ThrowsAsync<ChatRejectedException>(() => CollectAsync(client.GetStreamingResponseAsync(Messages, null, Token)));

        Assert.Equal(ChatErrorKind.Upstream, error.Error.Kind);
        Assert.Equal("upstream_error", error.Error.Code);
        Assert.Contains("HTTP 500", error.Message, StringComparison.Ordinal);
        Assert.Contains("CUDA out of memory", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, server.Requests.Count);
    }

    [Theory]
    [InlineData(500, "upstream_error")]
    [InlineData(401, "upstream_auth")]
    [InlineData(400, "upstream_rejected")]
    public async Task GetStreamingResponseAsync_UpstreamErrorWithCredentialsInUrl_UserSeesCodeOnlyAndTheLogTheMaskedUrlAndStatus(int status, string code)
    {
        const string Marker = "upstream-internal-trace-7f3a";
        await using var server = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteErrorAsync(context, status, Marker), Token);
        var log = new CapturingLogger<RemoteChatClient>();
        var options = new RemoteOptions
        {
            BaseUrl = $"http://ops:pa55-word@127.0.0.1:{server.BaseUri.Port}/v1?api_key=key-0123&region=eu", Model = "m", TimeoutSeconds = 30, MaxRetries = 0,
        };
        using var client = new RemoteChatClient(options, log);

        var error = await Assert.ThrowsAsync<ChatRejectedException>(() => CollectAsync(client.GetStreamingResponseAsync(Messages, null, Token)));

        Assert.Equal(code, error.Error.Code);
        Assert.Equal(RemoteChatClient.PublicMessage(code), error.Error.Message);
        foreach (var hidden in new[] { Marker, "pa55-word", "key-0123", "127.0.0.1" })
            Assert.DoesNotContain(hidden, error.Error.Message, StringComparison.Ordinal);
        foreach (var secret in new[] { "pa55-word", "key-0123" })
        {
            Assert.DoesNotContain(secret, error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(log.Lines, line => line.Contains(secret, StringComparison.Ordinal));
        }
        var failed = Assert.Single(log.Lines, line => line.Contains(code, StringComparison.Ordinal));
        Assert.Contains($"http://***@127.0.0.1:{server.BaseUri.Port}/v1/chat/completions?api_key=***&region=eu", failed, StringComparison.Ordinal);
        Assert.Contains($"HTTP {status}", failed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_NobodyListening_RetriesThenSaysUnreachable()
    {
        var server = await TestHttpServer.StartAsync((context, _) => Task.CompletedTask, Token);
        var baseUri = server.BaseUri;
        await server.DisposeAsync();
        var options = new RemoteOptions { BaseUrl = baseUri + "v1", Model = "m", TimeoutSeconds = 2, MaxRetries = 1 };
        using var client = new RemoteChatClient(options, NullLogger<RemoteChatClient>.Instance);

        var error = await Assert.ThrowsAsync<ChatRejectedException>(() => CollectAsync(client.GetStreamingResponseAsync(Messages, null, Token)));

        Assert.Equal("upstream_unreachable", error.Error.Code);
        Assert.Contains(baseUri.Authority, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_Upstream429WithLongRetryAfter_BusyWithThatRetryAfterAndNoRetry()
    {
        await using var server = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteErrorAsync(context, 429, "all slots busy", retryAfterSeconds: 30), Token);
        using var client = Client(server);

        var error = await Assert.ThrowsAsync<ChatRejectedException>(() => CollectAsync(client.GetStreamingResponseAsync(Messages, null, Token)));

        Assert.Equal(ChatErrorKind.Busy, error.Error.Kind);
        Assert.Equal("busy", error.Error.Code);
        Assert.Equal(TimeSpan.FromSeconds(30), error.RetryAfter);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task GetResponseAsync_Upstream503_BusyAfterRetries()
    {
        await using var server = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteErrorAsync(context, 503, "loading model", retryAfterSeconds: 0), Token);
        using var client = Client(server, o => o.MaxRetries = 2);

        var error = await Assert.ThrowsAsync<ChatRejectedException>(() => client.GetResponseAsync(Messages, null, Token));

        Assert.Equal(ChatErrorKind.Busy, error.Error.Kind);
        Assert.NotNull(error.RetryAfter);
        Assert.Contains("loading model", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_ServerHangs_TimesOutWithKeyName()
    {
        await using var server = await TestHttpServer.StartAsync((context, _) => Task.Delay(Timeout.Infinite, context.RequestAborted), Token);
        using var client = Client(server, o => o.TimeoutSeconds = 1);

        var error = await Assert.ThrowsAsync<ChatRejectedException>(() => CollectAsync(client.GetStreamingResponseAsync(Messages, null, Token)));

        Assert.Equal("upstream_timeout", error.Error.Code);
        Assert.Contains("ChatPlatform:Remote:TimeoutSeconds", error.Message, StringComparison.Ordinal);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_SlowFailureThenSlowReply_EachAttemptHasItsOwnTimeout()
    {
        var calls = 0;
        await using var server = await TestHttpServer.StartAsync(async (context, _) =>
        {
            // Each attempt takes two thirds of the timeout: both together would not fit one timeout, each fits its own
            // with a second to spare for a busy machine.
            var call = Interlocked.Increment(ref calls);
            await Task.Delay(2000, context.RequestAborted);
            if (call == 1) await OpenAiResponses.WriteErrorAsync(context, 500, "slow failure");
            else await OpenAiResponses.WriteReplyAsync(context, "in time");
        }, Token);
        using var client = Client(server, o => (o.TimeoutSeconds, o.MaxRetries) = (3, 1));

        var updates = await CollectAsync(client.GetStreamingResponseAsync(Messages, null, Token));

        Assert.Equal("in time", string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_ServerStallsMidReply_EndsWithTimeoutAfterTheTextSoFar()
    {
        await using var server = await TestHttpServer.StartAsync(async (context, _) =>
        {
            await OpenAiResponses.WriteEventsAsync(context, [OpenAiResponses.Chunk("partial")]);
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }, Token);
        using var client = Client(server, o => o.TimeoutSeconds = 1);
        var received = new List<string>();

        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync(Messages, null, Token))
                received.Add(update.Text);
        });

        Assert.Equal(["partial"], received);
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_ConnectionDropsAfterOutput_FailsWithoutRetrying()
    {
        await using var server = await TestHttpServer.StartAsync(async (context, _) =>
        {
            await OpenAiResponses.WriteEventsAsync(context, [OpenAiResponses.Chunk("first words")]);
            await OpenAiResponses.AbortAfterDeliveryAsync(context);
        }, Token);
        using var client = Client(server);
        var received = new List<string>();

        var error = await Assert.ThrowsAsync<RemoteInferenceException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync(Messages, null, Token))
                received.Add(update.Text);
        });

        Assert.Equal(["first words"], received);
        Assert.Contains("mid-reply", error.Message, StringComparison.Ordinal);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_ErrorEventMidReply_FailsAfterTheTextSoFar()
    {
        await using var server = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteEventsAsync(context,
            [OpenAiResponses.Chunk("partial"), "{\"error\":{\"code\":500,\"message\":\"slot crashed\",\"type\":\"server_error\"}}"]), Token);
        using var client = Client(server);
        var received = new List<string>();

        var error = await Assert.ThrowsAsync<RemoteInferenceException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync(Messages, null, Token))
                received.Add(update.Text);
        });

        Assert.Equal(["partial"], received);
        Assert.Contains("slot crashed", error.Message, StringComparison.Ordinal);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_ErrorEventFirst_UpstreamErrorWithItsMessage()
    {
        await using var server = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteEventsAsync(context,
            ["{\"error\":{\"message\":\"model failed to load\"}}"]), Token);
        using var client = Client(server);

        var error = await Assert.ThrowsAsync<ChatRejectedException>(() => CollectAsync(client.GetStreamingResponseAsync(Messages, null, Token)));

        Assert.Equal("upstream_error", error.Error.Code);
        Assert.Contains("model failed to load", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_MalformedChunk_ClearErrorAndNoRetry()
    {
        await using var server = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteEventsAsync(context, ["{\"choices\": [ {\"delta\": "]), Token);
        using var client = Client(server);

        var error = await Assert.ThrowsAsync<ChatRejectedException>(() => CollectAsync(client.GetStreamingResponseAsync(Messages, null, Token)));

        Assert.Equal("upstream_invalid_response", error.Error.Code);
        Assert.Contains("not valid JSON", error.Message, StringComparison.Ordinal);
        Assert.Single(server.Requests);
    }

    [Theory]
    [InlineData(401, "upstream_auth", "ChatPlatform:Remote:ApiKey")]
    [InlineData(404, "upstream_not_found", "ChatPlatform:Remote:Model")]
    [InlineData(400, "upstream_rejected", "HTTP 400")]
    public async Task GetStreamingResponseAsync_ClientError_ClearErrorNamingWhatToCheckAndNoRetry(int status, string code, string hint)
    {
        await using var server = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteErrorAsync(context, status, "the server's reason"), Token);
        using var client = Client(server);

        var error = await Assert.ThrowsAsync<ChatRejectedException>(() => CollectAsync(client.GetStreamingResponseAsync(Messages, null, Token)));

        Assert.Equal(code, error.Error.Code);
        Assert.Contains(hint, error.Message, StringComparison.Ordinal);
        Assert.Contains("the server's reason", error.Message, StringComparison.Ordinal);
        Assert.Single(server.Requests);
    }

    [Theory]
    [InlineData("the request exceeds the available context size, try increasing it")]
    [InlineData("This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.")]
    public async Task GetStreamingResponseAsync_PromptLongerThanContext_ContextOverflowForTheOrchestratorAndNoRetry(string reason)
    {
        await using var server = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteErrorAsync(context, 400, reason), Token);
        using var client = Client(server);

        var error = await Assert.ThrowsAsync<ChatRejectedException>(() => CollectAsync(client.GetStreamingResponseAsync(Messages, null, Token)));

        Assert.Equal(ChatErrorKind.TooLarge, error.Error.Kind);
        Assert.Equal(ChatOrchestrator.ContextOverflowCode, error.Error.Code);
        Assert.DoesNotContain(reason, error.Error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_NoApiKey_SendsNoAuthorizationHeader()
    {
        await using var server = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteReplyAsync(context, "ok"), Token);
        using var client = Client(server);

        await CollectAsync(client.GetStreamingResponseAsync(Messages, null, Token));

        Assert.Null(Assert.Single(server.Requests).Header("Authorization"));
    }

    [Fact]
    public async Task GetResponseAsync_NonStreaming_ReturnsMessageFinishReasonAndUsage()
    {
        await using var server = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteCompletionAsync(context, "整段回答"), Token);
        using var client = Client(server);

        var response = await client.GetResponseAsync(Messages, new ChatOptions { MaxOutputTokens = 3 }, Token);

        Assert.Equal("整段回答", response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(3, response.Usage?.OutputTokenCount);
        // Not streamed: the SDK leaves "stream" out rather than sending false.
        var body = JsonDocument.Parse(Assert.Single(server.Requests).Body).RootElement;
        Assert.False(body.TryGetProperty("stream", out var stream) && stream.GetBoolean());
        Assert.Equal(3, body.GetProperty("max_tokens").GetInt32());
        Assert.False(body.TryGetProperty("max_completion_tokens", out _));
    }

    [Fact]
    public async Task GetResponseAsync_BodyNotJson_ClearError()
    {
        await using var server = await TestHttpServer.StartAsync((context, _) => context.Response.WriteAsync("<html>proxy error</html>", context.RequestAborted), Token);
        using var client = Client(server);

        var error = await Assert.ThrowsAsync<ChatRejectedException>(() => client.GetResponseAsync(Messages, null, Token));

        Assert.Equal("upstream_invalid_response", error.Error.Code);
    }

    [Theory]
    [InlineData("http://gpu-box:8080", "http://gpu-box:8080/v1/chat/completions")]
    [InlineData("http://gpu-box:8000/v1/", "http://gpu-box:8000/v1/chat/completions")]
    [InlineData("https://node.example/api/v1", "https://node.example/api/v1/chat/completions")]
    public void CompletionsUri_BaseUrl_AppendsChatCompletions(string baseUrl, string expected) =>
        Assert.Equal(expected, RemoteChatClient.CompletionsUri(baseUrl).ToString());
}
