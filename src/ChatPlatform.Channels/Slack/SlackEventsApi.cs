using System.Data.Common;
using System.Text.Json;
using ChatPlatform.Channels.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace ChatPlatform.Channels.Slack;

/// <summary>
/// <c>POST /api/slack/events</c>: checks Slack's signature, answers <c>url_verification</c>, and acknowledges each
/// event once it is recorded (a repeat is acknowledged and dropped) while <see cref="SlackResponder"/> answers it in
/// the background with <c>chat.postMessage</c>.
/// </summary>
public static class SlackEventsApi
{
    public const int MaxBodyBytes = 1024 * 1024;

    public static IEndpointRouteBuilder MapSlackEvents(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/slack/events", PostEvent);
        return app;
    }

    internal static async Task<IResult> PostEvent(HttpContext http, SlackOptions options, SlackResponder responder, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!options.Enabled)
            return Problem(StatusCodes.Status404NotFound, "slack_not_configured", "Slack is not configured: set ChatPlatform:Slack:SigningSecret.");

        var body = await ChatHttp.ReadBodyAsync(http.Request, MaxBodyBytes, cancellationToken);
        if (body is null)
            return Problem(StatusCodes.Status413PayloadTooLarge, "request_too_large", $"The request body is larger than {MaxBodyBytes} bytes.");

        var problem = SlackSignature.Check(options.SigningSecret!,
            http.Request.Headers["X-Slack-Request-Timestamp"].FirstOrDefault(),
            http.Request.Headers["X-Slack-Signature"].FirstOrDefault(),
            body, time.GetUtcNow());
        if (problem is not null)
            return Problem(StatusCodes.Status401Unauthorized, "invalid_signature", $"Slack signature check failed: {problem}.");

        JsonElement payload;
        try
        {
            using var document = JsonDocument.Parse(body);
            payload = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid_json", $"The request body is not valid JSON: {e.Message}");
        }
        if (payload.ValueKind != JsonValueKind.Object)
            return Problem(StatusCodes.Status400BadRequest, "invalid_payload", "The request body must be a JSON object.");

        switch (Str(payload, "type"))
        {
            case "url_verification":
                return TypedResults.Ok(new { challenge = Str(payload, "challenge") ?? "" });
            case "event_callback" when payload.TryGetProperty("event", out var e) && e.ValueKind == JsonValueKind.Object:
                try
                {
                    if (await responder.AcceptAsync(Str(payload, "event_id"), Str(payload, "team_id"), e, cancellationToken) == SlackResponder.Acceptance.Full)
                    {
                        http.Response.Headers.RetryAfter = RetrySeconds;
                        return Problem(StatusCodes.Status503ServiceUnavailable, "busy", "This node has too many Slack messages waiting; the event was not taken. Slack retries it.");
                    }
                }
                catch (Exception error) when (IsStoreFailure(error))
                {
                    // Without the store the event cannot be checked for a repeat: Slack retries a 5xx, by then it may be back.
                    http.Response.Headers.RetryAfter = RetrySeconds;
                    return Problem(StatusCodes.Status503ServiceUnavailable, "store_unavailable", "The database cannot be reached; the event was not taken. Slack retries it.");
                }
                return TypedResults.Ok();
            default:
                // Other callbacks (app_rate_limited, ...) need only an acknowledgement.
                return TypedResults.Ok();
        }
    }

    /// <summary>A database error, also when the store wraps it in its own exception (as EF Core's DbUpdateException does).</summary>
    private static bool IsStoreFailure(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
            if (e is DbException)
                return true;
        return false;
    }

    /// <summary>Seconds Slack is asked to wait before delivering an event this node could not take in.</summary>
    private const string RetrySeconds = "10";

    internal static string? Str(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static ProblemHttpResult Problem(int status, string code, string message) =>
        TypedResults.Problem(title: code, detail: message, statusCode: status, extensions: new Dictionary<string, object?> { ["code"] = code });
}
