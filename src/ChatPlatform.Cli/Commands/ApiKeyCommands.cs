using System.CommandLine;
using System.Globalization;
using ChatPlatform.Channels.ApiKeys;

namespace ChatPlatform.Cli.Commands;

/// <summary><c>chatplatform apikey create|revoke|list</c>: keys for the OpenAI-compatible API, stored as hashes in the data folder.</summary>
internal static class ApiKeyCommands
{
    public static Command Create(CliConsole console) => new("apikey", "API keys for the OpenAI-compatible API at /v1 (only their SHA-256 hashes are stored).")
    {
        CreateKey(console),
        Revoke(console),
        List(console),
    };

    private static ApiKeys Open(out FileApiKeyStore store)
    {
        var options = CliSettings.Load();
        store = FileApiKeyStore.InDataDirectory(options.DataDirectory);
        return new ApiKeys(store, TimeProvider.System);
    }

    private static Command CreateKey(CliConsole console)
    {
        var name = new Option<string>("--name") { Description = "Who the key is for, e.g. moodle-plugin.", Required = true };
        var command = new Command("create", "Issue a new key and print it once; it cannot be shown again.") { name };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var keys = Open(out var store);
            using (store)
            {
                var value = parse.GetValue(name)!;
                if (ApiKeys.NameProblem(value) is { } problem)
                    throw new CliException(problem);
                try
                {
                    var key = await keys.CreateAsync(value, cancellationToken);
                    await console.Out.WriteLineAsync(key);
                    await console.Error.WriteLineAsync($"Created API key '{value}' (hash stored in {store.Path}). Keep it now: it is not shown again.");
                }
                catch (InvalidOperationException e)
                {
                    throw new CliException(e.Message);
                }
                catch (InvalidDataException e)
                {
                    throw new CliException(e.Message);
                }
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
            var keys = Open(out var store);
            using (store)
            {
                var value = parse.GetValue(name)!;
                bool removed;
                try
                {
                    removed = await keys.RevokeAsync(value, cancellationToken);
                }
                catch (InvalidDataException e)
                {
                    throw new CliException(e.Message);
                }
                if (!removed)
                    throw new CliException($"No API key named '{value}'.");
                await console.Out.WriteLineAsync($"Revoked API key '{value}'.");
            }
            return 0;
        });
        return command;
    }

    private static Command List(CliConsole console)
    {
        var command = new Command("list", "List issued keys by name and creation time.");
        command.SetAction(async (parse, cancellationToken) =>
        {
            var keys = Open(out var store);
            using (store)
            {
                IReadOnlyList<ApiKeyRecord> records;
                try
                {
                    records = await keys.ListAsync(cancellationToken);
                }
                catch (InvalidDataException e)
                {
                    throw new CliException(e.Message);
                }
                if (records.Count == 0)
                    await console.Out.WriteLineAsync("No API keys.");
                foreach (var r in records)
                    await console.Out.WriteLineAsync($"{r.Name}\t{r.CreatedAt.ToString("u", CultureInfo.InvariantCulture)}");
            }
            return 0;
        });
        return command;
    }
}
