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
        if (!runtime.AuthenticationEnabled && !ClientAddress.IsFromThisMachine(http))
            return Problem(StatusCodes.Status401Unauthorized, "bot_auth_off",
                "Bot Framework authentication is off (MicrosoftAppId is not set), so only requests from this machine are served.");

        var body = await ChatHttp.ReadBodyAsync(http.Request, MaxBodyBytes, cancellationToken);
        if (body is null)
            return Problem(StatusCodes.Status413PayloadTooLarge, "request_too_large", $"The activity is larger than {MaxBodyBytes} bytes.");
        var (activity, problem) = Parse(body);
        if (activity is null)
            return Problem(StatusCodes.Status400BadRequest, "invalid_activity", problem!);
        // A route to a persona whose pack does not offer it on this channel is answered like an unknown persona.
        var channel = PersonaBot.PackChannel(activity);
        if (persona is not null && runtime.Personas.FindOn(persona, channel) is null)
            return Problem(StatusCodes.Status404NotFound, "unknown_persona",
                $"Unknown persona '{persona}'. Available: {runtime.Personas.AvailableOn(channel)}.");
        // Without authentication nobody vouches for the serviceUrl, so replies may only go back to this machine;
        // with it, the SDK checks the URL against the channel's signed token.
        if (!runtime.AuthenticationEnabled && !new Uri(activity.ServiceUrl).IsLoopback)
            return Problem(StatusCodes.Status403Forbidden, "service_url_not_local",
                "Bot Framework authentication is off (MicrosoftAppId is not set), so replies go only to a serviceUrl on this machine.");

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
        catch (Exception e) when (IdentityProviderUnreachable(e))
        {
            // The token cannot be checked now: the channel retries later. One line, no stack trace.
            LogIdentityProviderUnreachable(runtime.Logger, e.GetType().Name);
            http.Response.Headers.RetryAfter = IdentityRetrySeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Problem(StatusCodes.Status503ServiceUnavailable, "identity_provider_unavailable",
                "The Bot Framework token cannot be checked right now because the identity provider is unreachable. Try again later.");
        }

        if (invoke is null)
            return TypedResults.Ok();
        var json = invoke.Body is null ? "" : JsonConvert.SerializeObject(invoke.Body);
        return TypedResults.Content(json, "application/json", Encoding.UTF8, invoke.Status);
    }

    private const int IdentityRetrySeconds = 30;

    /// <summary>
    /// The SDK could not fetch the identity provider's OpenID metadata or keys: IdentityModel reports it as IDX20803
    /// (configuration) over IDX20804 (document retrieval), with the network error inside.
    /// </summary>
    internal static bool IdentityProviderUnreachable(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is HttpRequestException || inner.Message.StartsWith("IDX20803", StringComparison.Ordinal) || inner.Message.StartsWith("IDX20804", StringComparison.Ordinal))
                return e is not OperationCanceledException;
        return false;
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

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "Bot Framework request refused with 503: the identity provider's metadata could not be fetched to check its token ({Error})")]
    private static partial void LogIdentityProviderUnreachable(Microsoft.Extensions.Logging.ILogger logger, string error);

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "Bot Framework request rejected: {Reason}")]
    private static partial void LogRejected(Microsoft.Extensions.Logging.ILogger logger, string reason);
}
