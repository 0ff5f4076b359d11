using System.Security.Claims;
using ChatPlatform.Admin.Components;
using ChatPlatform.Admin.Personas;
using ChatPlatform.Admin.Security;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.Configuration;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace ChatPlatform.Admin;

/// <summary>Wires the admin console (Blazor interactive server with MudBlazor) into a host under <c>/admin</c>.</summary>
public static class AdminConsoleHosting
{
    /// <summary>Cookie sign-in, the role policies, Blazor server components and MudBlazor.</summary>
    public static WebApplicationBuilder AddAdminConsole(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // Serve MudBlazor's and Blazor's files from the build output in every environment, not only Development.
        builder.WebHost.UseStaticWebAssets();
        var services = builder.Services;
        services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(o =>
            {
                o.Cookie.Name = "chatplatform.admin";
                // The Blazor circuit (/_blazor) must see the cookie too, so it is not limited to /admin.
                o.Cookie.Path = "/";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.LoginPath = AdminPaths.Login;
                o.AccessDeniedPath = AdminPaths.AccessDenied;
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.SlidingExpiration = true;
                o.Events.OnRedirectToLogin = context => Challenge(context, StatusCodes.Status401Unauthorized);
                o.Events.OnRedirectToAccessDenied = context => Challenge(context, StatusCodes.Status403Forbidden);
                o.Events.OnValidatePrincipal = RevalidateAsync;
            });
        services.AddAuthorization(AdminPolicies.Add);
        var revalidateSeconds = builder.Configuration.GetValue(ConsoleSessionOptions.RevalidateSecondsKey, 60);
        if (revalidateSeconds is < 1 or > 60)
            throw new InvalidOperationException($"{ConsoleSessionOptions.RevalidateSecondsKey} must be between 1 and 60 seconds (got {revalidateSeconds}).");
        services.AddSingleton(new ConsoleSessionOptions { RevalidateEvery = TimeSpan.FromSeconds(revalidateSeconds) });
        services.AddSingleton<ConsoleAccess>();
        services.AddCascadingAuthenticationState();
        services.AddAntiforgery();
        services.AddRazorComponents().AddInteractiveServerComponents();
        // Open circuits are checked against their accounts every RevalidateEvery, not only when they start.
        services.AddScoped<AuthenticationStateProvider, ConsoleAuthenticationStateProvider>();
        services.AddMudServices();
        services.AddScoped<ConsoleGuard>();
        services.AddSingleton<PersonaArchive>();
        services.AddSingleton<TokenCounter>();
        services.AddSingleton<Core.Personas.PersonaProbe>();
        services.AddSingleton<AdapterUploads>();
        services.AddSingleton(builder.Configuration.GetSection("ChatPlatform:Training").Get<AdapterTrainingSettings>() ?? new AdapterTrainingSettings());
        services.AddSingleton<AdapterTrainingData>();
        services.AddSingleton<AdapterTrainingRuns>();
        services.AddHostedService(sp => sp.GetRequiredService<AdapterTrainingRuns>());
        services.AddSingleton<Knowledge.KnowledgeConsole>();
        return builder;
    }

    /// <summary>Sign-in, authorization and antiforgery; call after routing-independent middleware such as static files.</summary>
    public static WebApplication UseAdminConsole(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        return app;
    }

    /// <summary>
    /// The console's pages, its sign-out endpoint and a catch-all so that no <c>/admin</c> URL, known or not, answers
    /// an anonymous caller with anything but the way to the login page.
    /// </summary>
    public static IEndpointRouteBuilder MapAdminConsole(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        // MudBlazor's stylesheet and script and Blazor's own script, from the static web assets manifest.
        endpoints.MapStaticAssets();
        endpoints.MapRazorComponents<App>()
            .AddInteractiveServerRenderMode()
            .RequireAuthorization(AdminPolicies.Dashboard);

        endpoints.MapPost(AdminPaths.Logout, SignOutAsync)
            .WithMetadata(new RequireAntiforgeryTokenAttribute());

        var api = endpoints.MapGroup(AdminPaths.Api).RequireAuthorization(AdminPolicies.Dashboard);
        api.MapGet("/me", (ClaimsPrincipal user) => TypedResults.Ok(new AdminMe(
            user.Identity?.Name ?? "", [.. user.FindAll(ClaimTypes.Role).Select(c => c.Value)])));
        Operations.OperationsEndpoints.MapAdminOperations(endpoints);

        PersonaApi.Map(endpoints);
        Knowledge.KnowledgeApi.Map(endpoints);

        endpoints.MapFallback(AdminPaths.Root + "/{**rest}", () => TypedResults.NotFound())
            .RequireAuthorization(AdminPolicies.Dashboard);
        return endpoints;
    }

    private static async Task<IResult> SignOutAsync(HttpContext http, Data.Admin.AdminAccounts accounts, CancellationToken cancellationToken)
    {
        if (http.User.Identity is { IsAuthenticated: true, Name: { } name })
            await accounts.AuditAsync(name, "admin.logout", name, null, cancellationToken);
        await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return TypedResults.LocalRedirect(AdminPaths.Login);
    }

    private const string ValidatedAtKey = ".chatplatform.validated";

    /// <summary>
    /// Re-reads the account behind a cookie at most once per <see cref="ConsoleSessionOptions.RevalidateEvery"/>: a
    /// disabled, deleted or reset account is signed out, and changed roles apply at once instead of when the cookie expires.
    /// </summary>
    private static async Task RevalidateAsync(CookieValidatePrincipalContext context)
    {
        var services = context.HttpContext.RequestServices;
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        var every = services.GetRequiredService<ConsoleSessionOptions>().RevalidateEvery;
        if (context.Properties.Items.TryGetValue(ValidatedAtKey, out var stamp)
            && DateTimeOffset.TryParse(stamp, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out var at)
            && now - at < every)
            return;

        var current = await services.GetRequiredService<ConsoleAccess>().CurrentAsync(context.Principal, context.HttpContext.RequestAborted);
        if (current is null)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return;
        }

        static IEnumerable<string> Roles(ClaimsPrincipal p) => p.FindAll(ClaimTypes.Role).Select(c => c.Value).Order(StringComparer.Ordinal);
        if (!Roles(context.Principal!).SequenceEqual(Roles(current), StringComparer.Ordinal))
            context.ReplacePrincipal(current);
        context.Properties.Items[ValidatedAtKey] = now.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        context.ShouldRenew = true;
    }

    /// <summary>Console APIs answer 401/403; pages redirect to the login or access-denied page.</summary>
    private static Task Challenge(RedirectContext<CookieAuthenticationOptions> context, int apiStatus)
    {
        if (context.Request.Path.StartsWithSegments(AdminPaths.Api, StringComparison.OrdinalIgnoreCase)
            || !context.Request.Path.StartsWithSegments(AdminPaths.Root, StringComparison.OrdinalIgnoreCase))
        {
            context.Response.StatusCode = apiStatus;
            return Task.CompletedTask;
        }
        context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }
}

/// <summary>The signed-in account, as <c>GET /admin/api/me</c> reports it.</summary>
public sealed record AdminMe(string Name, IReadOnlyList<string> Roles);
