using System.Security.Cryptography;
using System.Text.Json;
using ChatPlatform.Data.Audit;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Data.Admin;

/// <summary>The outcome of a sign-in attempt; <see cref="Account"/> is set only on success.</summary>
public sealed record AdminSignInResult(AdminSignInStatus Status, AdminAccountRecord? Account = null, DateTimeOffset? LockedUntil = null);

public enum AdminSignInStatus
{
    Succeeded,
    /// <summary>Unknown user, wrong password or disabled account: callers must not tell these apart.</summary>
    Failed,
    LockedOut,
}

/// <summary>
/// Admin accounts: creation with a one-time password, password checks with ASP.NET Core's
/// <see cref="PasswordHasher{TUser}"/> (PBKDF2), and lockout after repeated failures. Every change is audited.
/// </summary>
public sealed class AdminAccounts(IDbContextFactory<ChatDbContext> contexts, TimeProvider time)
{
    /// <summary>Failures in a row that lock an account.</summary>
    public const int MaxFailedLogins = 5;

    /// <summary>How long a locked account stays locked.</summary>
    public static readonly TimeSpan LockoutDuration = TimeSpan.FromMinutes(15);

    public const int MaxUserNameLength = 128;

    private static readonly PasswordHasher<AdminAccountRecord> s_hasher = new();

    /// <summary>A one-line reason why <paramref name="userName"/> cannot be an account name, or null.</summary>
    public static string? UserNameProblem(string? userName)
    {
        if (string.IsNullOrWhiteSpace(userName)) return "The user name must not be empty.";
        if (userName.Length > MaxUserNameLength) return $"The user name is longer than {MaxUserNameLength} characters.";
        if (userName.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))) return "The user name must not contain spaces or control characters.";
        return null;
    }

    /// <summary>Creates an account with one role and returns the generated password, which is stored only as a hash.</summary>
    /// <exception cref="ArgumentException">The name or role is not valid.</exception>
    /// <exception cref="InvalidOperationException">The name is taken.</exception>
    public async Task<string> CreateAsync(string userName, string role, string actor, CancellationToken cancellationToken)
    {
        if (UserNameProblem(userName) is { } problem) throw new ArgumentException(problem, nameof(userName));
        var canonical = AdminRoles.Normalize(role)
            ?? throw new ArgumentException($"Unknown role '{role}'. Roles: {string.Join(", ", AdminRoles.All)}.", nameof(role));
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (await db.AdminAccounts.AnyAsync(a => a.UserName == userName, cancellationToken))
            throw new InvalidOperationException($"An admin account named '{userName}' already exists.");
        var password = GeneratePassword();
        var now = time.GetUtcNow();
        var account = new AdminAccountRecord { UserName = userName, CreatedAt = now };
        account.PasswordHash = s_hasher.HashPassword(account, password);
        account.Roles.Add(new AdminRoleAssignmentRecord { Role = canonical, GrantedAt = now, GrantedBy = actor });
        db.AdminAccounts.Add(account);
        db.AuditLog.Add(Audit(now, actor, "admin.create", userName, new { role = canonical }));
        await db.SaveChangesAsync(cancellationToken);
        return password;
    }

    /// <summary>Checks a password, counting failures and locking the account after <see cref="MaxFailedLogins"/> of them.</summary>
    public async Task<AdminSignInResult> SignInAsync(string userName, string password, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(password);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var account = await db.AdminAccounts.Include(a => a.Roles).FirstOrDefaultAsync(a => a.UserName == userName, cancellationToken);
        var now = time.GetUtcNow();
        if (account is null || account.Disabled || account.PasswordHash is null)
        {
            // Hash anyway so an unknown name costs the same time as a wrong password.
            s_hasher.VerifyHashedPassword(new AdminAccountRecord { UserName = "" }, s_dummyHash, password);
            return new AdminSignInResult(AdminSignInStatus.Failed);
        }
        if (account.LockedUntil is { } until && until > now)
            return new AdminSignInResult(AdminSignInStatus.LockedOut, LockedUntil: until);

        var verdict = s_hasher.VerifyHashedPassword(account, account.PasswordHash, password);
        if (verdict == PasswordVerificationResult.Failed)
        {
            account.FailedLogins++;
            if (account.FailedLogins >= MaxFailedLogins)
            {
                account.FailedLogins = 0;
                account.LockedUntil = now + LockoutDuration;
                db.AuditLog.Add(Audit(now, "system", "admin.lockout", userName, new { minutes = LockoutDuration.TotalMinutes }));
                await db.SaveChangesAsync(cancellationToken);
                return new AdminSignInResult(AdminSignInStatus.LockedOut, LockedUntil: account.LockedUntil);
            }
            await db.SaveChangesAsync(cancellationToken);
            return new AdminSignInResult(AdminSignInStatus.Failed);
        }

        if (verdict == PasswordVerificationResult.SuccessRehashNeeded)
            account.PasswordHash = s_hasher.HashPassword(account, password);
        account.FailedLogins = 0;
        account.LockedUntil = null;
        account.LastLoginAt = now;
        db.AuditLog.Add(Audit(now, userName, "admin.login", userName, null));
        await db.SaveChangesAsync(cancellationToken);
        return new AdminSignInResult(AdminSignInStatus.Succeeded, account);
    }

    /// <summary>The account's current roles, or null when it no longer may sign in (disabled or deleted).</summary>
    public async Task<IReadOnlyList<string>?> RolesAsync(string userName, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var account = await db.AdminAccounts.AsNoTracking().Include(a => a.Roles).FirstOrDefaultAsync(a => a.UserName == userName, cancellationToken);
        return account is null || account.Disabled ? null : [.. account.Roles.Select(r => r.Role)];
    }

    /// <summary>Writes an audit entry for a change made through the console.</summary>
    public async Task AuditAsync(string actor, string action, string target, object? details, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        db.AuditLog.Add(Audit(time.GetUtcNow(), actor, action, target, details));
        await db.SaveChangesAsync(cancellationToken);
    }

    private static readonly string s_dummyHash = s_hasher.HashPassword(new AdminAccountRecord { UserName = "" }, "not-a-password");

    private static AuditEntry Audit(DateTimeOffset at, string actor, string action, string target, object? details) => new()
    {
        At = at, Actor = actor, Action = action, Target = "admin:" + target,
        Details = details is null ? null : JsonSerializer.Serialize(details),
    };

    /// <summary>20 characters from an alphabet without look-alikes (about 115 bits).</summary>
    private static string GeneratePassword()
    {
        const string alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        return RandomNumberGenerator.GetString(alphabet, 20);
    }
}
