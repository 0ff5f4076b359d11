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
            var factory = new ChatDbContextFactory(new ChatPlatformOptions { DataDirectory = data });
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
}
