namespace ChatPlatform.Data.Admin;

/// <summary>The roles an admin account can hold, as stored in <c>admin_roles</c> and carried in the sign-in cookie.</summary>
public static class AdminRoles
{
    /// <summary>Everything, including accounts, channels and keys.</summary>
    public const string Admin = "Admin";

    /// <summary>Personas and the playground.</summary>
    public const string Editor = "Editor";

    /// <summary>Conversations and the safety review queue.</summary>
    public const string Reviewer = "Reviewer";

    /// <summary>The dashboard only.</summary>
    public const string Viewer = "Viewer";

    public static readonly IReadOnlyList<string> All = [Admin, Editor, Reviewer, Viewer];

    /// <summary>The role with its canonical spelling, or null when <paramref name="role"/> is not a role.</summary>
    public static string? Normalize(string? role) =>
        All.FirstOrDefault(r => string.Equals(r, role?.Trim(), StringComparison.OrdinalIgnoreCase));
}
