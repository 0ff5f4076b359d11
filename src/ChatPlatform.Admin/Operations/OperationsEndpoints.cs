using System.Security.Claims;
using System.Text.Json;
using ChatPlatform.Admin.Security;
using ChatPlatform.Data.Lifecycle;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ChatPlatform.Admin.Operations;

/// <summary>Console APIs of the operations pages: the export of one conversation (a file download).</summary>
public static class OperationsEndpoints
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string ExportUrl(long conversationId) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{AdminPaths.Api}/conversations/{conversationId}/export");

    /// <summary>Maps the operations APIs under <see cref="AdminPaths.Api"/>; each needs its page's policy.</summary>
    public static IEndpointRouteBuilder MapAdminOperations(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet(AdminPaths.Api + "/conversations/{id:long}/export", ExportAsync).RequireAuthorization(AdminPolicies.Conversations);
        return endpoints;
    }

    private static async Task<IResult> ExportAsync(long id, ClaimsPrincipal user, DataLifecycle lifecycle, CancellationToken cancellationToken)
    {
        var export = await lifecycle.ExportConversationAsync(id, AdminPrincipal.Actor(user), cancellationToken);
        if (export is null)
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, detail: $"There is no conversation {id}.");
        var bytes = JsonSerializer.SerializeToUtf8Bytes(export, Json);
        return TypedResults.File(bytes, "application/json", $"conversation-{id}.json");
    }
}
