namespace ChatPlatform.Data.Admin;

/// <summary>A person who may use the admin area.</summary>
public sealed class AdminAccountRecord
{
    public long Id { get; set; }
    public required string UserName { get; set; }
    public string? DisplayName { get; set; }
    /// <summary>A password hash in the form the admin area writes; never the password.</summary>
    public string? PasswordHash { get; set; }
    public bool Disabled { get; set; }
    /// <summary>
    /// Changes whenever the account is disabled or enabled, its role changes or its password is reset: sessions
    /// signed in under another stamp lose access.
    /// </summary>
    public string SecurityStamp { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? LastLoginAt { get; set; }
    /// <summary>Failed sign-ins since the last success.</summary>
    public int FailedLogins { get; set; }
    /// <summary>After too many failures, sign-in attempts are refused (uncounted) until this instant.</summary>
    public DateTimeOffset? LockedUntil { get; set; }
    public List<AdminRoleAssignmentRecord> Roles { get; set; } = [];
}

/// <summary>A role an admin account holds: <c>admin</c>, <c>editor</c>, <c>reviewer</c>, <c>viewer</c>.</summary>
public sealed class AdminRoleAssignmentRecord
{
    public long AccountId { get; set; }
    public required string Role { get; set; }
    public DateTimeOffset GrantedAt { get; set; }
    public string? GrantedBy { get; set; }
}

/// <summary>A program allowed to call the API, identified by a key whose hash is stored.</summary>
public sealed class ApiClientRecord
{
    public long Id { get; set; }
    public required string Name { get; set; }
    /// <summary>The first characters of the key, shown so an operator can tell keys apart.</summary>
    public required string KeyPrefix { get; set; }
    /// <summary>SHA-256 of the key, hex.</summary>
    public required string KeyHash { get; set; }
    /// <summary>Space-separated scopes, e.g. <c>chat export</c>.</summary>
    public string Scopes { get; set; } = "chat";
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
    public DateTimeOffset? LastUsedAt { get; set; }
}
