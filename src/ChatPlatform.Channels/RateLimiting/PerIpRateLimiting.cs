using System.Globalization;
using System.Text.Json;
using System.Threading.RateLimiting;
using ChatPlatform.Channels.OpenAi;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPlatform.Channels.RateLimiting;

/// <summary>
/// A per-IP limit for public endpoints that run a model turn (<c>/api/chat</c>, <c>/v1</c>). Slack's endpoint is
/// left out: all its requests come from Slack's own addresses. Refusals are 429 with <c>Retry-After</c>.
/// </summary>
public static class PerIpRateLimiting
{
    public const string Policy = "per-ip";

    public static IServiceCollection AddPerIpRateLimiting(this IServiceCollection services, RateLimitOptions options)
    {
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(Policy, http => options.PermitsPerWindow == 0
                ? RateLimitPartition.GetNoLimiter("off")
                : RateLimitPartition.GetFixedWindowLimiter(http.Connection.RemoteIpAddress?.ToString() ?? "unknown", _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = options.PermitsPerWindow,
                    Window = TimeSpan.FromSeconds(options.WindowSeconds),
                    QueueLimit = 0,
                }));
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var retry = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(options.WindowSeconds);
                var seconds = Http.ChatHttp.RetryAfterSeconds(retry);
                var response = context.HttpContext.Response;
                response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                var message = $"Too many requests from this address: the limit is {options.PermitsPerWindow} per {options.WindowSeconds} s. Try again in {seconds} s.";
                if (context.HttpContext.Request.Path.StartsWithSegments("/v1"))
                {
                    response.ContentType = "application/json";
                    await response.WriteAsync(JsonSerializer.Serialize(new { error = new { message, type = "rate_limit_error", code = "rate_limited" } }), cancellationToken);
                }
                else
                {
                    response.ContentType = "application/problem+json";
                    await response.WriteAsync(JsonSerializer.Serialize(new { title = "rate_limited", status = 429, detail = message, code = "rate_limited" }), cancellationToken);
                }
            };
        });
        return services;
    }
}
