using Xunit;
using System.Net;
using System.Text.Json;

namespace ChatPlatform.Server.Tests.Channels;

public sealed class OpenAiApiDefaultsTests
{
    [Fact]
    public async Task GetModels_NoKeysIssuedAndNotFromLoopback_Gets401()
    {
        // The test server's requests carry no loopback address, like a request from another machine.
        using var factory = new ServerFactory();

        var response = await factory.CreateClient().GetAsync("/v1/models", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("error");
        Assert.Contains("only requests from this machine", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
