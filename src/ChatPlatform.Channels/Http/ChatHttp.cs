using System.Globalization;
using ChatPlatform.Core.Chat;
using Microsoft.AspNetCore.Http;

namespace ChatPlatform.Channels.Http;

/// <summary>How every HTTP channel turns a refused turn into a status code, so they all answer alike.</summary>
public static class ChatHttp
{
    public static int StatusCode(ChatErrorKind kind) => kind switch
    {
        ChatErrorKind.NotFound => StatusCodes.Status404NotFound,
        ChatErrorKind.TooLarge => StatusCodes.Status413PayloadTooLarge,
        ChatErrorKind.Conflict => StatusCodes.Status409Conflict,
        ChatErrorKind.Busy => StatusCodes.Status429TooManyRequests,
        ChatErrorKind.Upstream => StatusCodes.Status502BadGateway,
        _ => StatusCodes.Status400BadRequest,
    };

    /// <summary>Whole seconds, at least one, as <c>Retry-After</c> wants them.</summary>
    public static int RetryAfterSeconds(TimeSpan retryAfter) => Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));

    public static void SetRetryAfter(HttpResponse response, TimeSpan? retryAfter)
    {
        if (retryAfter is { } retry)
            response.Headers.RetryAfter = RetryAfterSeconds(retry).ToString(CultureInfo.InvariantCulture);
    }
}
