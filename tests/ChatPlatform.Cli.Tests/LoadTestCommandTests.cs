using Xunit;

namespace ChatPlatform.Cli.Tests;

public sealed class LoadTestCommandTests
{
    [Theory]
    [InlineData("--url", "ftp://example", "--url must be an absolute http://")]
    [InlineData("--conversations", "0", "--conversations must be between 1 and 10000")]
    [InlineData("--duration", "0", "--duration must be between 1 and 3600")]
    [InlineData("--reply-timeout", "0", "--reply-timeout must be between 1 and 3600")]
    [InlineData("--url", "http://127.0.0.1:5181,nonsense", "--url must be an absolute http:// or https:// URL (got 'nonsense')")]
    [InlineData("--database", "/no/such/file.db", "--database: /no/such/file.db not found")]
    public async Task DirectLine_BadOption_OneLineErrorNamingIt(string option, string value, string expected)
    {
        var result = await CliRunner.RunAsync("loadtest", "directline", option, value);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
        Assert.Single(result.Error.Trim().Split('\n'));
    }

    [Fact]
    public async Task DirectLine_NoServer_OneLineErrorNamingUrl()
    {
        // A port nothing listens on: the tool says it cannot reach the server instead of a stack trace.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var result = await CliRunner.RunAsync("loadtest", "directline", "--url", $"http://127.0.0.1:{port}", "--conversations", "2", "--duration", "1");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"Cannot reach http://127.0.0.1:{port}/", result.Error, StringComparison.Ordinal);
    }
}
