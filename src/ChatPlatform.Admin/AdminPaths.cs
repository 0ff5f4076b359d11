namespace ChatPlatform.Admin;

/// <summary>The console's URLs.</summary>
public static class AdminPaths
{
    public const string Root = "/admin";
    public const string Login = "/admin/login";
    public const string Logout = "/admin/logout";
    public const string AccessDenied = "/admin/denied";

    /// <summary>Prefix of the console's JSON APIs: anonymous calls get 401 and forbidden ones 403, never a redirect.</summary>
    public const string Api = "/admin/api";

    public const string Personas = "/admin/personas";
    public const string Playground = "/admin/playground";
    public const string Conversations = "/admin/conversations";
    public const string SafetyReview = "/admin/safety";
    public const string ChannelsAndKeys = "/admin/channels";
    public const string Accounts = "/admin/accounts";

    /// <summary>A persona's documents and curated answers.</summary>
    public static string Knowledge(string personaId) => $"{Personas}/{Uri.EscapeDataString(personaId)}/knowledge";

    /// <summary>A return URL that stays inside the console, else the console's start page.</summary>
    public static string SafeReturnUrl(string? returnUrl) =>
        returnUrl is { Length: > 0 } url
        && (url == Root || url.StartsWith(Root + "/", StringComparison.Ordinal) || url.StartsWith(Root + "?", StringComparison.Ordinal))
        && !url.Contains('\\', StringComparison.Ordinal) && !url.Contains("//", StringComparison.Ordinal) && !url.Contains("..", StringComparison.Ordinal)
            ? url
            : Root;
}
