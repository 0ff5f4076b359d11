using System.Security.Cryptography;
using System.Text.Json;
using ChatPlatform.Data.Audit;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Data.Admin;

/// <summary>The outcome of a sign-in attempt; <see cref="Account"/> is set only on success.</summary>
public sealed record AdminSignInResult(AdminSignInStatus Status, AdminAccountRecord? Account = null);

/// <summary>An account as <see cref="AdminAccounts.ListAsync"/> lists it; no password hash.</summary>
public sealed record AdminAccountInfo(string UserName, IReadOnlyList<string> Roles, bool Disabled, DateTimeOffset CreatedAt, DateTimeOffset? LastLoginAt);

/// <summary>What a signed-in session is checked against: the account's roles and security stamp now.</summary>
public sealed record AdminAccountState(string UserName, IReadOnlyList<string> Roles, string SecurityStamp);

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
        var account = new AdminAccountRecord { UserName = userName, CreatedAt = now, SecurityStamp = NewStamp() };
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

    /// <summary>Every account, by name, for the console's account page and <c>chatplatform admin list</c>.</summary>
    public async Task<IReadOnlyList<AdminAccountInfo>> ListAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var rows = await db.AdminAccounts.AsNoTracking().Include(a => a.Roles).OrderBy(a => a.UserName).ToListAsync(cancellationToken);
        return [.. rows.Select(a => new AdminAccountInfo(a.UserName, [.. a.Roles.Select(r => r.Role).Order(StringComparer.Ordinal)], a.Disabled, a.CreatedAt, a.LastLoginAt))];
    }

    /// <summary>What a signed-in session is checked against, or null when the account may no longer sign in (disabled or deleted).</summary>
    public async Task<AdminAccountState?> SessionStateAsync(string userName, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var account = await db.AdminAccounts.AsNoTracking().Include(a => a.Roles).FirstOrDefaultAsync(a => a.UserName == userName, cancellationToken);
        return account is null || account.Disabled
            ? null
            : new AdminAccountState(account.UserName, [.. account.Roles.Select(r => r.Role)], account.SecurityStamp);
    }

    /// <summary>Stops the account signing in; its open sessions lose access.</summary>
    /// <exception cref="InvalidOperationException">No such account, or it is the last enabled Admin.</exception>
    public Task DisableAsync(string userName, string actor, CancellationToken cancellationToken) =>
        ChangeAsync(userName, actor, "admin.disable", null, (account, otherAdmins) =>
        {
            if (!account.Disabled && IsAdmin(account) && otherAdmins == 0)
                throw new InvalidOperationException($"'{userName}' is the last enabled Admin and cannot be disabled; make another account Admin first.");
            account.Disabled = true;
        }, cancellationToken);

    /// <summary>Lets a disabled account sign in again (with its old password) and clears its failed sign-ins.</summary>
    /// <exception cref="InvalidOperationException">No such account.</exception>
    public Task EnableAsync(string userName, string actor, CancellationToken cancellationToken) =>
        ChangeAsync(userName, actor, "admin.enable", null, (account, _) =>
        {
            account.Disabled = false;
            account.FailedLogins = 0;
            account.LockedUntil = null;
        }, cancellationToken);

    /// <summary>Gives the account <paramref name="role"/> in place of the roles it had.</summary>
    /// <exception cref="ArgumentException">Not a role.</exception>
    /// <exception cref="InvalidOperationException">No such account, or it is the last enabled Admin and would lose the role.</exception>
    public Task SetRoleAsync(string userName, string role, string actor, CancellationToken cancellationToken)
    {
        var canonical = AdminRoles.Normalize(role)
            ?? throw new ArgumentException($"Unknown role '{role}'. Roles: {string.Join(", ", AdminRoles.All)}.", nameof(role));
        return ChangeAsync(userName, actor, "admin.role", new { role = canonical }, (account, otherAdmins) =>
        {
            if (canonical != AdminRoles.Admin && !account.Disabled && IsAdmin(account) && otherAdmins == 0)
                throw new InvalidOperationException($"'{userName}' is the last enabled Admin and cannot be given another role; make another account Admin first.");
            account.Roles.Clear();
            account.Roles.Add(new AdminRoleAssignmentRecord { Role = canonical, GrantedAt = time.GetUtcNow(), GrantedBy = actor });
        }, cancellationToken);
    }

    /// <summary>Gives the account a new generated password (returned once, stored as a hash) and clears its failed sign-ins.</summary>
    /// <exception cref="InvalidOperationException">No such account.</exception>
    public async Task<string> ResetPasswordAsync(string userName, string actor, CancellationToken cancellationToken)
    {
        var password = GeneratePassword();
        await ChangeAsync(userName, actor, "admin.password.reset", null, (account, _) =>
        {
            account.PasswordHash = s_hasher.HashPassword(account, password);
            account.FailedLogins = 0;
            account.LockedUntil = null;
        }, cancellationToken);
        return password;
    }

    private static bool IsAdmin(AdminAccountRecord account) => account.Roles.Any(r => r.Role == AdminRoles.Admin);

    /// <summary>
    /// Applies one change to an account in a serializable transaction (so two changes cannot both remove "the other"
    /// Admin), gives it a new security stamp and audits it. <c>change</c> gets the number of other enabled Admins.
    /// </summary>
    private async Task ChangeAsync(string userName, string actor, string action, object? details,
        Action<AdminAccountRecord, int> change, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(System.Data.IsolationLevel.Serializable, cancellationToken);
        var account = await db.AdminAccounts.Include(a => a.Roles).FirstOrDefaultAsync(a => a.UserName == userName, cancellationToken)
            ?? throw new InvalidOperationException($"There is no admin account named '{userName}'.");
        var otherAdmins = await db.AdminAccounts.CountAsync(
            a => a.Id != account.Id && !a.Disabled && a.Roles.Any(r => r.Role == AdminRoles.Admin), cancellationToken);
        change(account, otherAdmins);
        account.SecurityStamp = NewStamp();
        db.AuditLog.Add(Audit(time.GetUtcNow(), actor, action, userName, details));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private static string NewStamp() => Guid.NewGuid().ToString("N");

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
