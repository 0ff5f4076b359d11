using System.CommandLine;
using ChatPlatform.Data;
using ChatPlatform.Data.Admin;

namespace ChatPlatform.Cli.Commands;

/// <summary><c>chatplatform admin create</c>: accounts for the admin console at /admin.</summary>
internal static class AdminCommands
{
    public static Command Create(CliConsole console)
    {
        var user = new Option<string>("--user") { Description = "The account's user name.", Required = true };
        var role = new Option<string>("--role") { Description = $"One of {string.Join(", ", AdminRoles.All)}.", DefaultValueFactory = _ => AdminRoles.Admin };
        var dataDir = new Option<string?>("--data-dir") { Description = "The data directory holding chatplatform.db (default: ChatPlatform:DataDirectory)." };
        var create = new Command("create", "Create a console account and print its one-time password; only a hash is stored.") { user, role, dataDir };
        create.SetAction(async (parse, ct) =>
        {
            var options = CliSettings.Load();
            if (parse.GetValue(dataDir) is { Length: > 0 } directory) options.DataDirectory = directory;
            CliSettings.ThrowIfInvalid(options);
            var name = parse.GetValue(user)!;
            if (AdminAccounts.UserNameProblem(name) is { } problem) throw new CliException(problem);
            var roleName = AdminRoles.Normalize(parse.GetValue(role))
                ?? throw new CliException($"Unknown role '{parse.GetValue(role)}'. Roles: {string.Join(", ", AdminRoles.All)}.");
            var factory = new ChatDbContextFactory(options);
            try
            {
                await ChatDatabase.MigrateAsync(factory, ct);
            }
            catch (DatabaseMigrationException e)
            {
                throw new CliException(e.Message);
            }
            string password;
            try
            {
                password = await new AdminAccounts(factory, TimeProvider.System).CreateAsync(name, roleName, "cli", ct);
            }
            catch (InvalidOperationException e)
            {
                throw new CliException(e.Message);
            }
            await console.Out.WriteLineAsync(password);
            await console.Error.WriteLineAsync($"Created {roleName} account '{name}'. Sign in at /admin/login with the password above; it is not shown again.");
            return 0;
        });
        return new Command("admin", "Accounts for the admin console (/admin).") { create };
    }
}
