using ChatPlatform.Admin.Security;
using ChatPlatform.Data.Personas;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ChatPlatform.Admin.Personas;

/// <summary>The console's persona APIs under <c>/admin/api/personas</c> (Admin and Editor only).</summary>
internal static class PersonaApi
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup(AdminPaths.Api + "/personas").RequireAuthorization(AdminPolicies.Personas);
        group.MapGet("/", async (PersonaVersions versions, CancellationToken ct) => TypedResults.Ok(await versions.ListAsync(ct)));
        group.MapGet("/{id}/versions/{number:int}/export", async Task<IResult> (string id, int number, PersonaArchive archive, CancellationToken ct) =>
        {
            try
            {
                var zip = await archive.ExportAsync(id, number, ct);
                return TypedResults.File(zip, "application/zip", $"{id}-v{number}.zip");
            }
            catch (KeyNotFoundException e)
            {
                return TypedResults.Problem(title: "not_found", detail: e.Message, statusCode: StatusCodes.Status404NotFound);
            }
        });
    }
}
