using System.Globalization;
using ChatPlatform.Core.Chat;
using Microsoft.AspNetCore.Http;

namespace ChatPlatform.Channels.Http;

/// <summary>What every HTTP channel does alike: read the caller's bearer credential, and turn a refused turn into a status code.</summary>
public static class ChatHttp
{
    /// <summary>The credential of <c>Authorization: Bearer …</c> (trimmed, possibly empty); null without that scheme.</summary>
    public static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }

    public static int StatusCode(ChatErrorKind kind) => kind switch
    {
        ChatErrorKind.NotFound => StatusCodes.Status404NotFound,
        ChatErrorKind.TooLarge => StatusCodes.Status413PayloadTooLarge,
        ChatErrorKind.Conflict => StatusCodes.Status409Conflict,
        ChatErrorKind.Busy => StatusCodes.Status429TooManyRequests,
        ChatErrorKind.Upstream => StatusCodes.Status502BadGateway,
        ChatErrorKind.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status400BadRequest,
    };

    /// <summary>Whole seconds, at least one, as <c>Retry-After</c> wants them.</summary>
    public static int RetryAfterSeconds(TimeSpan retryAfter) => Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));

    /// <summary>What a chat channel (Slack, Teams, Web Chat) tells the user when the inference core is at capacity.</summary>
    public static string BusyMessage(TimeSpan? retryAfter, string? locale = null)
    {
        var seconds = RetryAfterSeconds(retryAfter ?? TimeSpan.FromSeconds(5));
        return locale is not null && locale.StartsWith("zh", StringComparison.OrdinalIgnoreCase)
            ? $"抱歉，我现在有点忙，没能处理这条消息。请在 {seconds} 秒后再发送一次。"
            : $"Sorry, I am busy right now. Please try again in {seconds} seconds.";
    }

    /// <summary>The whole request body, or null when it is longer than <paramref name="maxBytes"/>.</summary>
    public static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
            return null;
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
                return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    public static void SetRetryAfter(HttpResponse response, TimeSpan? retryAfter)
    {
        if (retryAfter is { } retry)
            response.Headers.RetryAfter = RetryAfterSeconds(retry).ToString(CultureInfo.InvariantCulture);
    }
}
