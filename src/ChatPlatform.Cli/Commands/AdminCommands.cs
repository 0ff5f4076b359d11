using System.CommandLine;
using System.Globalization;
using ChatPlatform.Data;
using ChatPlatform.Data.Admin;

namespace ChatPlatform.Cli.Commands;

/// <summary>
/// <c>chatplatform admin create|list|disable|enable|role|reset-password</c>: accounts for the admin console at /admin.
/// Every change but create ends the account's open console sessions within a minute.
/// </summary>
internal static class AdminCommands
{
    /// <summary>Who the audit log names for changes made here.</summary>
    private const string Actor = "cli";

    public static Command Create(CliConsole console) => new("admin", "Accounts for the admin console (/admin).")
    {
        CreateAccount(console),
        List(console),
        Disable(console),
        Enable(console),
        Role(console),
        ResetPassword(console),
    };

    private static Option<string> UserOption() => new("--user") { Description = "The account's user name.", Required = true };

    private static Option<string?> DataDirOption() => new("--data-dir") { Description = "The data directory holding chatplatform.db (default: ChatPlatform:DataDirectory)." };

    /// <summary>The accounts in the configured database, its schema brought up to date.</summary>
    private static async Task<AdminAccounts> OpenAsync(ParseResult parse, Option<string?> dataDir, CancellationToken cancellationToken) =>
        new((await CliSettings.OpenDatabaseAsync(parse.GetValue(dataDir), cancellationToken)).Factory, TimeProvider.System);

    private static string CanonicalRole(string? role) => AdminRoles.Normalize(role)
        ?? throw new CliException($"Unknown role '{role}'. Roles: {string.Join(", ", AdminRoles.All)}.");

    /// <summary>Runs a store call, turning its refusals (unknown user, last Admin, name taken) into one-line errors.</summary>
    private static async Task<T> RefusalsAsErrors<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new CliException(e.Message);
        }
    }

    private static Command CreateAccount(CliConsole console)
    {
        var user = UserOption();
        var role = new Option<string>("--role") { Description = $"One of {string.Join(", ", AdminRoles.All)}.", DefaultValueFactory = _ => AdminRoles.Admin };
        var dataDir = DataDirOption();
        var create = new Command("create", "Create a console account and print its one-time password; only a hash is stored.") { user, role, dataDir };
        create.SetAction(async (parse, ct) =>
        {
            var name = parse.GetValue(user)!;
            if (AdminAccounts.UserNameProblem(name) is { } problem) throw new CliException(problem);
            var roleName = CanonicalRole(parse.GetValue(role));
            var accounts = await OpenAsync(parse, dataDir, ct);
            var password = await RefusalsAsErrors(() => accounts.CreateAsync(name, roleName, Actor, ct));
            await console.Out.WriteLineAsync(password);
            await console.Error.WriteLineAsync($"Created {roleName} account '{name}'. Sign in at /admin/login with the password above; it is not shown again.");
            return 0;
        });
        return create;
    }

    private static Command List(CliConsole console)
    {
        var dataDir = DataDirOption();
        var command = new Command("list", "List accounts: user name, role, enabled or disabled, created, last sign-in.") { dataDir };
        command.SetAction(async (parse, ct) =>
        {
            var accounts = await OpenAsync(parse, dataDir, ct);
            var all = await accounts.ListAsync(ct);
            if (all.Count == 0)
                await console.Out.WriteLineAsync("No admin accounts.");
            foreach (var a in all)
            {
                await console.Out.WriteLineAsync(string.Join('\t',
                    a.UserName, string.Join(',', a.Roles), a.Disabled ? "disabled" : "enabled", Time(a.CreatedAt),
                    "last sign-in " + (a.LastLoginAt is { } at ? Time(at) : "never")));
            }
            return 0;
        });
        return command;
    }

    private static Command Disable(CliConsole console) => Change("disable",
        "Stop an account signing in; its open console sessions lose access within a minute. The last enabled Admin cannot be disabled.",
        (accounts, name, ct) => accounts.DisableAsync(name, Actor, ct), name => $"Disabled '{name}'.", console);

    private static Command Enable(CliConsole console) => Change("enable",
        "Let a disabled account sign in again with its old password.",
        (accounts, name, ct) => accounts.EnableAsync(name, Actor, ct), name => $"Enabled '{name}'.", console);

    private static Command Change(string verb, string description, Func<AdminAccounts, string, CancellationToken, Task> change, Func<string, string> done, CliConsole console)
    {
        var user = UserOption();
        var dataDir = DataDirOption();
        var command = new Command(verb, description) { user, dataDir };
        command.SetAction(async (parse, ct) =>
        {
            var name = parse.GetValue(user)!;
            var accounts = await OpenAsync(parse, dataDir, ct);
            await RefusalsAsErrors(async () => { await change(accounts, name, ct); return 0; });
            await console.Out.WriteLineAsync(done(name));
            return 0;
        });
        return command;
    }

    private static Command Role(CliConsole console)
    {
        var user = UserOption();
        var role = new Option<string>("--role") { Description = $"The new role, one of {string.Join(", ", AdminRoles.All)}.", Required = true };
        var dataDir = DataDirOption();
        var command = new Command("role", "Give an account another role; its open console sessions lose access within a minute. The last enabled Admin cannot be given another role.") { user, role, dataDir };
        command.SetAction(async (parse, ct) =>
        {
            var name = parse.GetValue(user)!;
            var roleName = CanonicalRole(parse.GetValue(role));
            var accounts = await OpenAsync(parse, dataDir, ct);
            await RefusalsAsErrors(async () => { await accounts.SetRoleAsync(name, roleName, Actor, ct); return 0; });
            await console.Out.WriteLineAsync($"'{name}' is now {roleName}.");
            return 0;
        });
        return command;
    }

    private static Command ResetPassword(CliConsole console)
    {
        var user = UserOption();
        var dataDir = DataDirOption();
        var command = new Command("reset-password", "Give an account a new password and print it once; the old one stops working and open sessions lose access within a minute.") { user, dataDir };
        command.SetAction(async (parse, ct) =>
        {
            var name = parse.GetValue(user)!;
            var accounts = await OpenAsync(parse, dataDir, ct);
            var password = await RefusalsAsErrors(() => accounts.ResetPasswordAsync(name, Actor, ct));
            await console.Out.WriteLineAsync(password);
            await console.Error.WriteLineAsync($"Reset the password of '{name}'. Sign in at /admin/login with the password above; it is not shown again.");
            return 0;
        });
        return command;
    }

    private static string Time(DateTimeOffset at) => at.ToString("u", CultureInfo.InvariantCulture);
}
