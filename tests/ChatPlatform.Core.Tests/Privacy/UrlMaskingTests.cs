using ChatPlatform.Core.Privacy;
using Xunit;

namespace ChatPlatform.Core.Tests.Privacy;

public sealed class UrlMaskingTests
{
    [Theory]
    [InlineData("http://user:pass@gpu-box:8080/v1", "http://***@gpu-box:8080/v1")]
    [InlineData("https://gpu-box/v1?key=abc&model=m", "https://gpu-box/v1?key=***&model=m")]
    [InlineData("https://h/p?api_key=abc&token=t&X-Amz-Signature=s&access_token=a", "https://h/p?api_key=***&token=***&X-Amz-Signature=***&access_token=***")]
    [InlineData("https://h/p?region=eu#secret-fragment", "https://h/p?region=eu")]
    [InlineData("http://[::1]:9000/v1", "http://[::1]:9000/v1")]
    [InlineData("https://oncall.example.org/hook", "https://oncall.example.org/hook")]
    public void Apply_UrlWithCredentials_MasksUserInfoAndSecretParameters(string url, string shown) =>
        Assert.Equal(shown, UrlMasking.Apply(new Uri(url)));
}
