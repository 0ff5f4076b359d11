using ChatPlatform.Data.Admin;
using Microsoft.AspNetCore.Authorization;

namespace ChatPlatform.Admin.Security;

/// <summary>
/// Authorization policies of the console, one per area. <see cref="AdminRoles.Admin"/> passes every policy.
/// Pages use them as <c>@attribute [Authorize(Policy = AdminPolicies.Personas)]</c>; console APIs with
/// <c>.RequireAuthorization(AdminPolicies.X)</c>.
/// </summary>
public static class AdminPolicies
{
    /// <summary>Any console account: the dashboard and the console's own APIs.</summary>
    public const string Dashboard = "admin.dashboard";

    /// <summary>Persona packs: list, edit drafts, validate, evals, activate, rollback, export and import.</summary>
    public const string Personas = "admin.personas";

    /// <summary>Chat with drafts and active versions.</summary>
    public const string Playground = "admin.playground";

    /// <summary>Transcripts, their export and erasure.</summary>
    public const string Conversations = "admin.conversations";

    /// <summary>The safety review queue.</summary>
    public const string SafetyReview = "admin.safety";

    /// <summary>Direct Line secrets, API clients, channel bindings and admin accounts.</summary>
    public const string ChannelsAndKeys = "admin.channels";

    /// <summary>The roles each policy admits.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Roles = new Dictionary<string, string[]>
    {
        [Dashboard] = [AdminRoles.Admin, AdminRoles.Editor, AdminRoles.Reviewer, AdminRoles.Viewer],
        [Personas] = [AdminRoles.Admin, AdminRoles.Editor],
        [Playground] = [AdminRoles.Admin, AdminRoles.Editor],
        [Conversations] = [AdminRoles.Admin, AdminRoles.Reviewer],
        [SafetyReview] = [AdminRoles.Admin, AdminRoles.Reviewer],
        [ChannelsAndKeys] = [AdminRoles.Admin],
    };

    public static void Add(AuthorizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var (policy, roles) in Roles)
            options.AddPolicy(policy, p => p.RequireAuthenticatedUser().RequireRole(roles));
    }
}
