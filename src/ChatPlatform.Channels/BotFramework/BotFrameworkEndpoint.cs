using System.Net;
using System.Text;
using ChatPlatform.Channels.Http;
using ChatPlatform.Core.Personas;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Bot.Builder.Integration.AspNet.Core;
using Microsoft.Bot.Schema;
using Microsoft.IdentityModel.Tokens;
using Newtonsoft.Json;

namespace ChatPlatform.Channels.BotFramework;

/// <summary>
/// <c>POST /api/messages</c> and <c>/api/messages/{persona}</c>: the Bot Framework endpoint. The activity is checked
/// here (so a malformed one gets a 400 that names the problem), then the SDK's <see cref="CloudAdapter"/> authenticates
/// it and runs the <see cref="PersonaBot"/>. Failed authentication is a 401, whatever part of the SDK noticed it.
/// </summary>
public static partial class BotFrameworkEndpoint
{
    public const int MaxBodyBytes = 256 * 1024;

    public static IEndpointRouteBuilder MapBotFramework(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/messages", (HttpContext http, BotFrameworkRuntime runtime, CancellationToken cancellationToken) =>
            PostActivity(http, null, runtime, cancellationToken));
        app.MapPost("/api/messages/{persona}", (HttpContext http, string persona, BotFrameworkRuntime runtime, CancellationToken cancellationToken) =>
            PostActivity(http, persona, runtime, cancellationToken));
        return app;
    }

    internal static async Task<IResult> PostActivity(HttpContext http, string? persona, BotFrameworkRuntime runtime, CancellationToken cancellationToken)
    {
        var authHeader = http.Request.Headers.Authorization.ToString();
        if (!runtime.AuthenticationEnabled && !(http.Connection.RemoteIpAddress is { } ip && IPAddress.IsLoopback(ip)))
            return Problem(StatusCodes.Status401Unauthorized, "bot_auth_off",
                "Bot Framework authentication is off (MicrosoftAppId is not set), so only requests from this machine are served.");

        if (persona is not null && runtime.Personas.Find(persona) is null)
            return Problem(StatusCodes.Status404NotFound, "unknown_persona",
                $"Unknown persona '{persona}'. Available: {string.Join(", ", runtime.Personas.All.Select(p => p.Id))}.");

        var body = await ChatHttp.ReadBodyAsync(http.Request, MaxBodyBytes, cancellationToken);
        if (body is null)
            return Problem(StatusCodes.Status413PayloadTooLarge, "request_too_large", $"The activity is larger than {MaxBodyBytes} bytes.");
        var (activity, problem) = Parse(body);
        if (activity is null)
            return Problem(StatusCodes.Status400BadRequest, "invalid_activity", problem!);

        Microsoft.Bot.Builder.InvokeResponse? invoke;
        try
        {
            invoke = await runtime.Adapter.ProcessAsync(authHeader, activity, (turn, ct) =>
            {
                if (persona is not null)
                    turn.TurnState.Add(PersonaBot.RoutePersonaKey, persona);
                return runtime.Bot.OnTurnAsync(turn, ct);
            }, runtime.Stopping);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or SecurityTokenException or ArgumentException)
        {
            // The SDK reports a bad token in several ways: UnauthorizedAccessException for a missing token or a wrong
            // audience, SecurityTokenException (e.g. an invalid signature) or ArgumentException for an unreadable one.
            var reason = e.GetType().Name;
            LogRejected(runtime.Logger, reason);
            return Problem(StatusCodes.Status401Unauthorized, "unauthorized", "The request's Bot Framework token is missing or invalid.");
        }

        if (invoke is null)
            return TypedResults.Ok();
        var json = invoke.Body is null ? "" : JsonConvert.SerializeObject(invoke.Body);
        return TypedResults.Content(json, "application/json", Encoding.UTF8, invoke.Status);
    }

    /// <summary>The activity, or a message naming what is wrong with it.</summary>
    public static (Activity? Activity, string? Problem) Parse(byte[] body)
    {
        Activity? activity;
        try
        {
            activity = JsonConvert.DeserializeObject<Activity>(Encoding.UTF8.GetString(body), new JsonSerializerSettings { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            return (null, $"The request body is not a valid activity: {e.Message}");
        }
        if (activity is null)
            return (null, "The request body is empty; send an activity as JSON.");
        if (string.IsNullOrWhiteSpace(activity.Type))
            return (null, "The activity has no 'type'.");
        if (string.IsNullOrWhiteSpace(activity.Conversation?.Id))
            return (null, "The activity has no 'conversation.id'.");
        if (string.IsNullOrWhiteSpace(activity.ServiceUrl))
            return (null, "The activity has no 'serviceUrl'.");
        if (!Uri.TryCreate(activity.ServiceUrl, UriKind.Absolute, out var serviceUrl) || (serviceUrl.Scheme != Uri.UriSchemeHttps && serviceUrl.Scheme != Uri.UriSchemeHttp))
            return (null, $"The activity's 'serviceUrl' must be an absolute http(s) URL (got '{activity.ServiceUrl}').");
        return (activity, null);
    }

    private static ProblemHttpResult Problem(int status, string code, string message) =>
        TypedResults.Problem(title: code, detail: message, statusCode: status, extensions: new Dictionary<string, object?> { ["code"] = code });

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "Bot Framework request rejected: {Reason}")]
    private static partial void LogRejected(Microsoft.Extensions.Logging.ILogger logger, string reason);
}
