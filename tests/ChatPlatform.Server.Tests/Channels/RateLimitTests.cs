using Xunit;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPlatform.Core.ApiKeys;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPlatform.Server.Tests.Channels;

public sealed class RateLimitTests
{
    [Fact]
    public async Task PublicEndpoints_OverThePerIpLimit_Get429WithRetryAfter()
    {
        using var factory = new ServerFactory();
        factory.Settings["ChatPlatform:RateLimit:PermitsPerWindow"] = "2";
        factory.Settings["ChatPlatform:RateLimit:WindowSeconds"] = "600";
        var http = factory.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer",
            await factory.Services.GetRequiredService<ApiKeys>().CreateAsync("limited", "test", TestContext.Current.CancellationToken));
        var ct = TestContext.Current.CancellationToken;

        var first = await http.GetAsync("/v1/models", ct);
        var second = await http.GetAsync("/v1/models", ct);
        var third = await http.GetAsync("/v1/models", ct);
        var chat = await http.PostAsJsonAsync("/api/chat", new { persona = "gradchat", conversationId = "rl", text = "hi" }, ct);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.InRange(third.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 1, 600);
        var error = JsonDocument.Parse(await third.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("error");
        Assert.Equal("rate_limited", error.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.TooManyRequests, chat.StatusCode);
        Assert.NotNull(chat.Headers.RetryAfter);
    }
}
