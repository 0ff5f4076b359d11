using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;

namespace ChatPlatform.Server.Hosting;

/// <summary>
/// Turns failures into problem details: malformed requests get a 4xx that says what is wrong, a client that went
/// away is not an error, and anything unexpected is a plain 500 without internals.
/// </summary>
internal sealed partial class ErrorHandler(IProblemDetailsService problems, ILogger<ErrorHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && http.RequestAborted.IsCancellationRequested)
        {
            http.Response.StatusCode = 499;
            return true;
        }

        var (status, title, detail) = exception switch
        {
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
                (StatusCodes.Status413PayloadTooLarge, "request_too_large", "The request body is larger than this endpoint accepts."),
            BadHttpRequestException { InnerException: System.Text.Json.JsonException json } =>
                (StatusCodes.Status400BadRequest, "invalid_json", $"The request body is not valid JSON: {json.Message}"),
            BadHttpRequestException bad =>
                (bad.StatusCode, "bad_request", bad.Message),
            _ => (StatusCodes.Status500InternalServerError, "internal_error", "Something went wrong on the server. The error was logged."),
        };
        if (status >= 500) LogUnhandled(exception, http.Request.Path);

        if (http.Response.HasStarted) return true;
        http.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            Exception = exception,
            ProblemDetails = { Status = status, Title = title, Detail = detail, Extensions = { ["code"] = title } },
        });
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error on {Path}")]
    private partial void LogUnhandled(Exception exception, PathString path);
}
