using ChatPlatform.Core.Configuration;
using ChatPlatform.Data;
using ChatPlatform.Data.Admin;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace ChatPlatform.Cli.Tests;

/// <summary><c>chatplatform admin create</c> against a fresh data folder.</summary>
public sealed class AdminCommandTests
{
    [Fact]
    public async Task Create_NewAdmin_PrintsPasswordThatSignsInAndStoresOnlyAHash()
    {
        var ct = TestContext.Current.CancellationToken;
        var data = Directory.CreateTempSubdirectory("chatplatform-admin-").FullName;
        try
        {
            var created = await CliRunner.RunAsync("admin", "create", "--user", "alice", "--role", "admin", "--data-dir", data);
            var duplicate = await CliRunner.RunAsync("admin", "create", "--user", "alice", "--data-dir", data);
            var badRole = await CliRunner.RunAsync("admin", "create", "--user", "bob", "--role", "boss", "--data-dir", data);

            Assert.Equal(0, created.ExitCode);
            var password = created.Out.Trim();
            Assert.Equal(20, password.Length);
            var factory = new ChatDbContextFactory(data);
            var accounts = new AdminAccounts(factory, TimeProvider.System);
            var signIn = await accounts.SignInAsync("alice", password, ct);
            Assert.Equal(AdminSignInStatus.Succeeded, signIn.Status);
            Assert.Equal([AdminRoles.Admin], signIn.Account!.Roles.Select(r => r.Role));
            await using (var db = await factory.CreateDbContextAsync(ct))
            {
                var stored = await db.AdminAccounts.SingleAsync(ct);
                Assert.DoesNotContain(password, stored.PasswordHash!, StringComparison.Ordinal);
                Assert.True(await db.AuditLog.AnyAsync(a => a.Action == "admin.create" && a.Target == "admin:alice", ct));
            }
            Assert.Equal(1, duplicate.ExitCode);
            Assert.Equal("An admin account named 'alice' already exists.", duplicate.Error.Trim());
            Assert.Equal(1, badRole.ExitCode);
            Assert.Contains("Unknown role 'boss'", badRole.Error, StringComparison.Ordinal);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task ManageAccounts_DisableEnableRoleResetAndList_ChangeTheStoreAndRefuseWhatIsWrong()
    {
        var ct = TestContext.Current.CancellationToken;
        var data = Directory.CreateTempSubdirectory("chatplatform-admin-").FullName;
        try
        {
            await CliRunner.RunAsync("admin", "create", "--user", "root", "--data-dir", data);
            var oldPassword = (await CliRunner.RunAsync("admin", "create", "--user", "ed", "--role", "editor", "--data-dir", data)).Out.Trim();

            var disabled = await CliRunner.RunAsync("admin", "disable", "--user", "ed", "--data-dir", data);
            var listDisabled = await CliRunner.RunAsync("admin", "list", "--data-dir", data);
            var enabled = await CliRunner.RunAsync("admin", "enable", "--user", "ed", "--data-dir", data);
            var role = await CliRunner.RunAsync("admin", "role", "--user", "ed", "--role", "REVIEWER", "--data-dir", data);
            var reset = await CliRunner.RunAsync("admin", "reset-password", "--user", "ed", "--data-dir", data);
            var unknownUser = await CliRunner.RunAsync("admin", "disable", "--user", "ghost", "--data-dir", data);
            var badRole = await CliRunner.RunAsync("admin", "role", "--user", "ed", "--role", "boss", "--data-dir", data);
            var lastAdmin = await CliRunner.RunAsync("admin", "disable", "--user", "root", "--data-dir", data);
            var demoteLast = await CliRunner.RunAsync("admin", "role", "--user", "root", "--role", "viewer", "--data-dir", data);
            var list = await CliRunner.RunAsync("admin", "list", "--data-dir", data);

            Assert.Equal((0, "Disabled 'ed'."), (disabled.ExitCode, disabled.Out.Trim()));
            Assert.Contains("ed\tEditor\tdisabled\t", listDisabled.Out, StringComparison.Ordinal);
            Assert.Equal((0, "Enabled 'ed'."), (enabled.ExitCode, enabled.Out.Trim()));
            Assert.Equal((0, "'ed' is now Reviewer."), (role.ExitCode, role.Out.Trim()));
            Assert.Equal(0, reset.ExitCode);
            var newPassword = reset.Out.Trim();
            Assert.Equal(20, newPassword.Length);
            Assert.Equal((1, "There is no admin account named 'ghost'."), (unknownUser.ExitCode, unknownUser.Error.Trim()));
            Assert.Equal(1, badRole.ExitCode);
            Assert.StartsWith("Unknown role 'boss'.", badRole.Error.Trim(), StringComparison.Ordinal);
            Assert.Equal((1, "'root' is the last enabled Admin and cannot be disabled; make another account Admin first."), (lastAdmin.ExitCode, lastAdmin.Error.Trim()));
            Assert.Equal(1, demoteLast.ExitCode);
            Assert.Contains("last enabled Admin", demoteLast.Error, StringComparison.Ordinal);
            var lines = list.Out.Trim().Split('\n').Select(l => l.Split('\t')[..3]).ToArray();
            Assert.Equal([["ed", "Reviewer", "enabled"], ["root", "Admin", "enabled"]], lines);
            // Passwords go to standard output once, never into messages.
            Assert.DoesNotContain(newPassword, reset.Error, StringComparison.Ordinal);
            var accounts = new AdminAccounts(new ChatDbContextFactory(data), TimeProvider.System);
            Assert.Equal(AdminSignInStatus.Failed, (await accounts.SignInAsync("ed", oldPassword, ct)).Status);
            Assert.Equal(AdminSignInStatus.Succeeded, (await accounts.SignInAsync("ed", newPassword, ct)).Status);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }
}
