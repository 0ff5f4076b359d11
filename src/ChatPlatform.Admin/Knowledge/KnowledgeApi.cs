using System.Security.Claims;
using ChatPlatform.Admin.Security;
using ChatPlatform.Knowledge;
using ChatPlatform.Knowledge.Ingestion;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPlatform.Admin.Knowledge;

/// <summary>
/// A persona's knowledge documents under <c>/admin/api/personas/{id}/knowledge</c> (Admin and Editor only):
/// list, upload (PUT of the file's bytes, so a cross-site form cannot send one) and remove; curated answers: list
/// and add one (POST of JSON, which a cross-site form cannot send either).
/// </summary>
internal static class KnowledgeApi
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup(AdminPaths.Api + "/personas/{id}/knowledge").RequireAuthorization(AdminPolicies.Personas)
            .RequireCurrentAccount(AdminPolicies.Personas);
        // Every route names a persona: one the console does not know gets 404 before anything is read or stored.
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var id = http.Request.RouteValues["id"] as string ?? "";
            return await http.RequestServices.GetRequiredService<KnowledgeConsole>().PersonaExistsAsync(id, http.RequestAborted)
                ? await next(context)
                : TypedResults.Problem(title: "not_found", detail: KnowledgeConsole.NoPersona(id), statusCode: StatusCodes.Status404NotFound);
        });
        group.MapGet("/documents", async (string id, KnowledgeConsole console, CancellationToken ct) => TypedResults.Ok(await console.Base.ListAsync(id, ct)));
        group.MapPut("/documents/{name}", UploadAsync);
        group.MapDelete("/documents/{name}", async Task<IResult> (string id, string name, KnowledgeConsole console, ClaimsPrincipal user, CancellationToken ct) =>
            await console.RemoveAsync(id, name, AdminPrincipal.Actor(user), ct)
                ? TypedResults.NoContent()
                : TypedResults.Problem(title: "not_found", detail: $"Persona '{id}' has no document '{name}'.", statusCode: StatusCodes.Status404NotFound));
        group.MapGet("/curated", async (string id, KnowledgeConsole console, CancellationToken ct) => TypedResults.Ok(await console.Base.ListCuratedAsync(id, ct)));
        group.MapPost("/curated", AddCuratedAsync);
    }

    /// <summary>Adds one curated answer written by hand (JSON: question, answer, optional source and locale).</summary>
    private static async Task<IResult> AddCuratedAsync(string id, CuratedAnswerDraft? draft, KnowledgeConsole console, ClaimsPrincipal user, CancellationToken ct)
    {
        if (draft is null) return TypedResults.Problem(title: "invalid_curated_answer", detail: "Send a JSON object with 'question' and 'answer'.", statusCode: StatusCodes.Status400BadRequest);
        try
        {
            var saved = await console.AddCuratedAsync(id, draft, user, "api", ct);
            return TypedResults.Created($"{AdminPaths.Api}/personas/{id}/knowledge/curated", saved);
        }
        catch (KnowledgeImportException e)
        {
            return TypedResults.Problem(title: "invalid_curated_answer", detail: e.Message, statusCode: StatusCodes.Status400BadRequest);
        }
        catch (UnauthorizedAccessException e)
        {
            return TypedResults.Problem(title: "forbidden", detail: e.Message, statusCode: StatusCodes.Status403Forbidden);
        }
        catch (KeyNotFoundException e)
        {
            return TypedResults.Problem(title: "not_found", detail: e.Message, statusCode: StatusCodes.Status404NotFound);
        }
    }

    private static async Task<IResult> UploadAsync(string id, string name, HttpRequest request, KnowledgeConsole console, ClaimsPrincipal user, CancellationToken ct)
    {
        if (KnowledgeConsole.CheckDocument(name, request.ContentLength ?? 1) is { } refused) return BadRequest(refused);
        var bytes = await KnowledgeConsole.ReadLimitedAsync(request.Body, KnowledgeConsole.MaxDocumentBytes, ct);
        if (bytes is null) return BadRequest(KnowledgeConsole.CheckDocument(name, KnowledgeConsole.MaxDocumentBytes + 1)!);
        try
        {
            var result = await console.UploadAsync(id, name, bytes, AdminPrincipal.Actor(user), null, ct);
            return TypedResults.Ok(new KnowledgeUpload(result.Source, result.Status.ToString(), result.Chunks, result.Pages));
        }
        catch (KnowledgeImportException e)
        {
            return BadRequest(e.Message);
        }
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult BadRequest(string detail) =>
        TypedResults.Problem(title: "invalid_document", detail: detail, statusCode: StatusCodes.Status400BadRequest);
}

/// <summary>The answer to an upload: the document's name, what happened (Added, Replaced, Unchanged) and its size in passages.</summary>
public sealed record KnowledgeUpload(string Source, string Status, int Chunks, int Pages);
