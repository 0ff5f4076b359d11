using ChatPlatform.Core.Configuration;
using ChatPlatform.Data.Admin;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace ChatPlatform.Data.Tests;

/// <summary>Account management on the real providers: every change gives a new security stamp; one enabled Admin always remains.</summary>
public sealed class AdminAccountChangeTests
{
    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task DisableEnableRoleAndReset_EachGiveANewStampAndAreAudited(string provider)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var database = await TestDatabase.CreateAsync(provider);
        var accounts = new AdminAccounts(database.Factory, TimeProvider.System);
        await accounts.CreateAsync("root", AdminRoles.Admin, "test", ct);
        var oldPassword = await accounts.CreateAsync("ed", AdminRoles.Editor, "test", ct);
        var stamps = new List<string> { (await accounts.SessionStateAsync("ed", ct))!.SecurityStamp };

        await accounts.DisableAsync("ed", "root", ct);
        var whileDisabled = await accounts.SessionStateAsync("ed", ct);
        var signInWhileDisabled = await accounts.SignInAsync("ed", oldPassword, ct);
        stamps.Add(await StampAsync(database, "ed"));
        await accounts.EnableAsync("ed", "root", ct);
        stamps.Add((await accounts.SessionStateAsync("ed", ct))!.SecurityStamp);
        await accounts.SetRoleAsync("ed", "reviewer", "root", ct);
        var afterRole = (await accounts.SessionStateAsync("ed", ct))!;
        stamps.Add(afterRole.SecurityStamp);
        var newPassword = await accounts.ResetPasswordAsync("ed", "root", ct);
        stamps.Add((await accounts.SessionStateAsync("ed", ct))!.SecurityStamp);

        Assert.Null(whileDisabled);
        Assert.Equal(AdminSignInStatus.Failed, signInWhileDisabled.Status);
        Assert.Equal(stamps.Count, stamps.Distinct(StringComparer.Ordinal).Count());
        Assert.All(stamps, s => Assert.False(string.IsNullOrEmpty(s)));
        Assert.Equal([AdminRoles.Reviewer], afterRole.Roles);
        Assert.Equal(AdminSignInStatus.Failed, (await accounts.SignInAsync("ed", oldPassword, ct)).Status);
        Assert.Equal(AdminSignInStatus.Succeeded, (await accounts.SignInAsync("ed", newPassword, ct)).Status);
        await using var db = await database.Factory.CreateDbContextAsync(ct);
        var audit = await db.AuditLog.AsNoTracking().Where(a => a.Target == "admin:ed" && a.Actor == "root").OrderBy(a => a.Id).Select(a => a.Action).ToListAsync(ct);
        Assert.Equal(["admin.disable", "admin.enable", "admin.role", "admin.password.reset"], audit);
        Assert.DoesNotContain(await db.AuditLog.AsNoTracking().Select(a => a.Details ?? "").ToListAsync(ct), d => d.Contains(newPassword, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task LastEnabledAdmin_CannotBeDisabledOrDemoted(string provider)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var database = await TestDatabase.CreateAsync(provider);
        var accounts = new AdminAccounts(database.Factory, TimeProvider.System);
        await accounts.CreateAsync("root", AdminRoles.Admin, "test", ct);
        await accounts.CreateAsync("deputy", AdminRoles.Admin, "test", ct);
        await accounts.DisableAsync("deputy", "root", ct);
        var stampBefore = await StampAsync(database, "root");

        var disable = await Assert.ThrowsAsync<InvalidOperationException>(() => accounts.DisableAsync("root", "root", ct));
        var demote = await Assert.ThrowsAsync<InvalidOperationException>(() => accounts.SetRoleAsync("root", AdminRoles.Viewer, "root", ct));
        var stampAfterRefusals = await StampAsync(database, "root");
        await accounts.EnableAsync("deputy", "root", ct);
        await accounts.SetRoleAsync("root", AdminRoles.Viewer, "deputy", ct);

        Assert.Equal("'root' is the last enabled Admin and cannot be disabled; make another account Admin first.", disable.Message);
        Assert.Equal("'root' is the last enabled Admin and cannot be given another role; make another account Admin first.", demote.Message);
        Assert.Equal(stampBefore, stampAfterRefusals);
        Assert.Equal([AdminRoles.Viewer], (await accounts.SessionStateAsync("root", ct))!.Roles);
        Assert.Equal([AdminRoles.Admin], (await accounts.SessionStateAsync("deputy", ct))!.Roles);
    }

    [Fact]
    public async Task Changes_UnknownUserOrRole_NameWhatIsWrong()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var database = await TestDatabase.CreateAsync(DatabaseOptions.Sqlite);
        var accounts = new AdminAccounts(database.Factory, TimeProvider.System);
        await accounts.CreateAsync("root", AdminRoles.Admin, "test", ct);

        var unknown = await Assert.ThrowsAsync<InvalidOperationException>(() => accounts.DisableAsync("ghost", "root", ct));
        var reset = await Assert.ThrowsAsync<InvalidOperationException>(() => accounts.ResetPasswordAsync("ghost", "root", ct));
        var role = await Assert.ThrowsAsync<ArgumentException>(() => accounts.SetRoleAsync("root", "boss", "root", ct));

        Assert.Equal("There is no admin account named 'ghost'.", unknown.Message);
        Assert.Equal("There is no admin account named 'ghost'.", reset.Message);
        Assert.StartsWith("Unknown role 'boss'. Roles: Admin, Editor, Reviewer, Viewer.", role.Message, StringComparison.Ordinal);
    }

    private static async Task<string> StampAsync(TestDatabase database, string user)
    {
        await using var db = await database.Factory.CreateDbContextAsync(TestContext.Current.CancellationToken);
        return await db.AdminAccounts.AsNoTracking().Where(a => a.UserName == user).Select(a => a.SecurityStamp).SingleAsync(TestContext.Current.CancellationToken);
    }
}
