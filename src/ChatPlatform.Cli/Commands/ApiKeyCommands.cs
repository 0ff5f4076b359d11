using System.CommandLine;
using System.Globalization;
using ChatPlatform.Core.ApiKeys;
using ChatPlatform.Data;
using ChatPlatform.Data.Admin;

namespace ChatPlatform.Cli.Commands;

/// <summary><c>chatplatform apikey create|revoke|list</c>: keys for the OpenAI-compatible API, stored as hashes in the database the server uses.</summary>
internal static class ApiKeyCommands
{
    public static Command Create(CliConsole console) => new("apikey", "API keys for the OpenAI-compatible API at /v1 (only their SHA-256 hashes are stored).")
    {
        CreateKey(console),
        Revoke(console),
        List(console),
    };

    /// <summary>Who the audit log names for changes made here.</summary>
    private const string Actor = "cli";

    /// <summary>The keys in the configured database, its schema brought up to date.</summary>
    private static async Task<ApiKeys> OpenAsync(CancellationToken cancellationToken) =>
        new(new EfApiKeyStore((await CliSettings.OpenDatabaseAsync(null, cancellationToken)).Factory), TimeProvider.System);

    private static Command CreateKey(CliConsole console)
    {
        var name = new Option<string>("--name") { Description = "Who the key is for, e.g. moodle-plugin.", Required = true };
        var command = new Command("create", "Issue a new key and print it once; it cannot be shown again.") { name };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var value = parse.GetValue(name)!;
            if (ApiKeys.NameProblem(value) is { } problem)
                throw new CliException(problem);
            var keys = await OpenAsync(cancellationToken);
            try
            {
                var key = await keys.CreateAsync(value, Actor, cancellationToken);
                await console.Out.WriteLineAsync(key);
                await console.Error.WriteLineAsync($"Created API key '{value}' (only its hash is stored). Keep it now: it is not shown again.");
            }
            catch (InvalidOperationException e)
            {
                throw new CliException(e.Message);
            }
            return 0;
        });
        return command;
    }

    private static Command Revoke(CliConsole console)
    {
        var name = new Argument<string>("NAME") { Description = "The key's name." };
        var command = new Command("revoke", "Revoke a key; requests with it are refused from then on.") { name };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var value = parse.GetValue(name)!;
            var keys = await OpenAsync(cancellationToken);
            if (!await keys.RevokeAsync(value, Actor, cancellationToken))
                throw new CliException($"No active API key named '{value}'.");
            await console.Out.WriteLineAsync($"Revoked API key '{value}'.");
            return 0;
        });
        return command;
    }

    private static Command List(CliConsole console)
    {
        var command = new Command("list", "List issued keys: name, first characters, created, last used, revoked.");
        command.SetAction(async (parse, cancellationToken) =>
        {
            var keys = await OpenAsync(cancellationToken);
            var records = await keys.ListAsync(cancellationToken);
            if (records.Count == 0)
                await console.Out.WriteLineAsync("No API keys.");
            foreach (var r in records)
            {
                await console.Out.WriteLineAsync(string.Join('\t',
                    r.Name, r.Prefix + "…", Time(r.CreatedAt), "used " + (r.LastUsedAt is { } used ? Time(used) : "never"),
                    r.RevokedAt is { } revoked ? "revoked " + Time(revoked) : "active"));
            }
            return 0;
        });
        return command;
    }

    private static string Time(DateTimeOffset at) => at.ToString("u", CultureInfo.InvariantCulture);
}
