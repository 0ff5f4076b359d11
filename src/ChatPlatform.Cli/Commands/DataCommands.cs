using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Data;
using ChatPlatform.Data.Lifecycle;

namespace ChatPlatform.Cli.Commands;

/// <summary><c>chatplatform data</c>: export and erase one user's data, back up the database.</summary>
internal static class DataCommands
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static Command Create(CliConsole console)
    {
        var dataDir = new Option<string?>("--data-dir") { Description = "The data directory holding chatplatform.db (default: ChatPlatform:DataDirectory from appsettings.json or the environment)." };
        var user = new Option<string>("--user") { Description = "The end user's id as their channel reports it.", Required = true };
        var output = new Option<string?>("--out") { Description = "Write the JSON to this file instead of the terminal." };

        var export = new Command("export", "Write everything stored about one user as JSON: conversations, messages, feedback, safety events.") { user, output, dataDir };
        export.SetAction(async (parse, ct) =>
        {
            var lifecycle = await OpenAsync(parse.GetValue(dataDir), ct);
            var result = await lifecycle.ExportUserAsync(RequireUser(parse.GetValue(user)), ct);
            var json = JsonSerializer.Serialize(result, s_json);
            if (parse.GetValue(output) is { Length: > 0 } file)
            {
                await File.WriteAllTextAsync(file, json + Environment.NewLine, ct);
                await console.Out.WriteLineAsync($"Exported {result.Conversations.Count} conversation(s), {result.Conversations.Sum(c => c.Messages.Count)} message(s) to {Path.GetFullPath(file)}");
            }
            else
            {
                await console.Out.WriteLineAsync(json);
            }
            return 0;
        });

        var actor = new Option<string>("--actor") { Description = "Who asked for the erasure, for the audit log.", DefaultValueFactory = _ => "cli" };
        var eraseUser = new Option<string?>("--user") { Description = "Erase everything of this end user (their id as their channel reports it)." };
        var eraseConversation = new Option<long?>("--conversation") { Description = "Erase this one conversation (its number in the console and in exports), also when it has no user id." };
        var erase = new Command("erase",
            "Delete one user's or one conversation's messages, feedback and the curated answers made from their questions; safety events keep only non-identifying fields. " +
            "Running servers drop their copies in memory within ChatPlatform:Retention:ErasureCheckSeconds. Recorded in the audit log.")
            { eraseUser, eraseConversation, actor, dataDir };
        erase.SetAction(async (parse, ct) =>
        {
            var (userId, conversationId) = (parse.GetValue(eraseUser), parse.GetValue(eraseConversation));
            if ((userId is null) == (conversationId is null))
                throw new CliException("Name what to erase: --user ID or --conversation NUMBER (one of them).");
            var lifecycle = await OpenAsync(parse.GetValue(dataDir), ct);
            var result = conversationId is { } id
                ? await lifecycle.EraseConversationAsync(id, parse.GetValue(actor)!, ct)
                : await lifecycle.EraseUserAsync(RequireUser(userId), parse.GetValue(actor)!, ct);
            if (conversationId is { } missing && result.Conversations == 0)
                throw new CliException($"There is no conversation {missing}.");
            await console.Out.WriteLineAsync(
                $"Erased {result.Conversations} conversation(s), {result.Messages} message(s), {result.Feedback} feedback row(s), {result.CuratedAnswers} curated answer(s); anonymised {result.SafetyEventsAnonymised} safety event(s).");
            return 0;
        });

        var backupFile = new Option<string>("--out") { Description = "The backup file to create (must not exist).", Required = true };
        var backup = new Command("backup", "Copy the SQLite database consistently while the server keeps running.") { backupFile, dataDir };
        backup.SetAction(async (parse, ct) =>
        {
            var lifecycle = await OpenAsync(parse.GetValue(dataDir), ct);
            var file = parse.GetValue(backupFile)!;
            try
            {
                await lifecycle.BackupAsync(file, ct);
            }
            catch (Exception e) when (e is IOException or NotSupportedException)
            {
                throw new CliException(e.Message);
            }
            await console.Out.WriteLineAsync($"Backed up to {Path.GetFullPath(file)} ({new FileInfo(file).Length} bytes)");
            return 0;
        });

        return new Command("data", "Stored data: export or erase one user's data, back up the database.") { export, erase, backup };
    }

    private static string RequireUser(string? user) =>
        string.IsNullOrWhiteSpace(user) ? throw new CliException("--user must not be empty.") : user;

    /// <summary>The configured database (which must exist), its schema brought up to date.</summary>
    private static async Task<DataLifecycle> OpenAsync(string? dataDirectory, CancellationToken cancellationToken)
    {
        var (options, factory) = await CliSettings.OpenDatabaseAsync(dataDirectory, cancellationToken, mustExist: true);
        return new DataLifecycle(factory, options.Retention);
    }
}
