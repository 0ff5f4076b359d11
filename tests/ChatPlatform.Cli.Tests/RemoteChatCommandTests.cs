using System.Text.Json;
using ChatPlatform.Testing;
using ChatPlatform.Testing.Http;
using Xunit;

namespace ChatPlatform.Cli.Tests;

/// <summary><c>chatplatform chat</c> with <c>ChatPlatform:Model:Backend = remote</c> (set through the environment).</summary>
[Collection(nameof(ProcessEnvironment))]
public sealed class RemoteChatCommandTests
{
    private static readonly string[] Keys = ["ChatPlatform__Model__Backend", "ChatPlatform__Remote__BaseUrl", "ChatPlatform__Remote__Model"];

    private static async Task<CliRunner.Result> ChatRemoteAsync(TestHttpServer upstream)
    {
        Environment.SetEnvironmentVariable(Keys[0], "remote");
        Environment.SetEnvironmentVariable(Keys[1], new Uri(upstream.BaseUri, "v1").ToString());
        Environment.SetEnvironmentVariable(Keys[2], "qwen2.5-7b-instruct");
        try
        {
            return await CliRunner.RunAsync("chat", "--personas", RepoPaths.Personas, "--safety-dir", RepoPaths.Safety, "--persona", "gradchat", "--locale", "en", "--message", "hi", "--seed", "3");
        }
        finally
        {
            foreach (var key in Keys) Environment.SetEnvironmentVariable(key, null);
        }
    }

    [Fact]
    public async Task Chat_RemoteBackend_PrintsTheServersReply()
    {
        await using var upstream = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteReplyAsync(context, "Hello ", "from the server."), TestContext.Current.CancellationToken);

        var result = await ChatRemoteAsync(upstream);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("Hello from the server.", result.Out.Trim());
        var body = JsonDocument.Parse(Assert.Single(upstream.Requests).Body).RootElement;
        Assert.Equal("qwen2.5-7b-instruct", body.GetProperty("model").GetString());
        Assert.Equal(3, body.GetProperty("seed").GetInt64());
    }

    [Fact]
    public async Task Chat_RemoteRefusesKey_OneLineErrorNamingTheSetting()
    {
        await using var upstream = await TestHttpServer.StartAsync((context, _) => OpenAiResponses.WriteErrorAsync(context, 403, "forbidden"), TestContext.Current.CancellationToken);

        var result = await ChatRemoteAsync(upstream);

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.Error.Trim().Split('\n'));
        Assert.StartsWith("upstream_auth: ", line, StringComparison.Ordinal);
        Assert.Contains("ChatPlatform:Remote:ApiKey", line, StringComparison.Ordinal);
    }
}
