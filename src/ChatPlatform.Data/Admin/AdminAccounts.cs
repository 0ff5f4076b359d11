using System.Security.Cryptography;
using System.Text.Json;
using ChatPlatform.Data.Audit;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Data.Admin;

/// <summary>The outcome of a sign-in attempt; <see cref="Account"/> is set only on success.</summary>
public sealed record AdminSignInResult(AdminSignInStatus Status, AdminAccountRecord? Account = null);

public enum AdminSignInStatus
{
    Succeeded,
    /// <summary>
    /// Unknown user, wrong password, disabled account, or an account or address that must wait before its next
    /// attempt: callers must not tell these apart.
    /// </summary>
    Failed,
}

/// <summary>
/// Admin accounts: creation with a one-time password, password checks with ASP.NET Core's
/// <see cref="PasswordHasher{TUser}"/> (PBKDF2), and a growing wait between attempts after repeated failures, per
/// account (in the database) and per client address (<see cref="AddressThrottle"/>). Every change is audited.
/// </summary>
public sealed class AdminAccounts(IDbContextFactory<ChatDbContext> contexts, TimeProvider time, AddressThrottle? addresses = null)
{
    /// <summary>Failures in a row on one account before each further attempt has to wait (see <see cref="SignInBackoff"/>).</summary>
    public const int FailuresBeforeBackoff = 5;

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

    /// <summary>Checks a password; see <see cref="SignInAsync(string, string, string?, CancellationToken)"/>.</summary>
    public Task<AdminSignInResult> SignInAsync(string userName, string password, CancellationToken cancellationToken) =>
        SignInAsync(userName, password, address: null, cancellationToken);

    /// <summary>
    /// Checks a password from a client at <paramref name="address"/> (null when unknown). Failures are counted per
    /// account with one atomic update and per address in memory; once either has failed too often, further attempts
    /// must wait (<see cref="SignInBackoff"/>). Every refusal looks the same and costs one password hash.
    /// </summary>
    public async Task<AdminSignInResult> SignInAsync(string userName, string password, string? address, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userName);
        ArgumentNullException.ThrowIfNull(password);
        var now = time.GetUtcNow();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var account = await db.AdminAccounts.AsNoTracking().Include(a => a.Roles).FirstOrDefaultAsync(a => a.UserName == userName, cancellationToken);
        var mustWait = (address is not null && addresses?.MustWait(address) == true) || account?.LockedUntil > now;
        if (account is null || account.Disabled || account.PasswordHash is null || mustWait)
        {
            // Hash anyway so a refusal without a check costs the same time as a wrong password.
            s_hasher.VerifyHashedPassword(s_dummyAccount, s_dummyHash, password);
            // A refused attempt is not counted, so waiting clients cannot stretch their wait.
            if (!mustWait && address is not null) addresses?.Fail(address);
            return new AdminSignInResult(AdminSignInStatus.Failed);
        }

        var verdict = s_hasher.VerifyHashedPassword(account, account.PasswordHash, password);
        var row = db.AdminAccounts.Where(a => a.Id == account.Id);
        if (verdict == PasswordVerificationResult.Failed)
        {
            if (address is not null) addresses?.Fail(address);
            // One UPDATE ... SET FailedLogins = FailedLogins + 1, so concurrent failures are all counted.
            await row.ExecuteUpdateAsync(s => s.SetProperty(a => a.FailedLogins, a => a.FailedLogins + 1), cancellationToken);
            var failures = await row.Select(a => a.FailedLogins).SingleAsync(cancellationToken);
            var delay = SignInBackoff.Delay(failures, FailuresBeforeBackoff);
            if (delay > TimeSpan.Zero)
            {
                var until = now + delay;
                await row.Where(a => a.LockedUntil == null || a.LockedUntil < until)
                    .ExecuteUpdateAsync(s => s.SetProperty(a => a.LockedUntil, until), cancellationToken);
                if (failures == FailuresBeforeBackoff)
                {
                    db.AuditLog.Add(Audit(now, "system", "admin.signin.backoff", userName, new { failures }));
                    await db.SaveChangesAsync(cancellationToken);
                }
            }
            return new AdminSignInResult(AdminSignInStatus.Failed);
        }

        var hash = verdict == PasswordVerificationResult.SuccessRehashNeeded ? s_hasher.HashPassword(account, password) : account.PasswordHash;
        await row.ExecuteUpdateAsync(s => s
            .SetProperty(a => a.FailedLogins, 0)
            .SetProperty(a => a.LockedUntil, (DateTimeOffset?)null)
            .SetProperty(a => a.LastLoginAt, now)
            .SetProperty(a => a.PasswordHash, hash), cancellationToken);
        account.FailedLogins = 0;
        account.LockedUntil = null;
        account.LastLoginAt = now;
        account.PasswordHash = hash;
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

    private static readonly AdminAccountRecord s_dummyAccount = new() { UserName = "" };

    private static readonly string s_dummyHash = s_hasher.HashPassword(s_dummyAccount, "not-a-password");

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
