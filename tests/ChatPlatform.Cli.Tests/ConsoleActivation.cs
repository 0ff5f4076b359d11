using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using ChatPlatform.Data;
using ChatPlatform.Data.Personas;
using Microsoft.Data.Sqlite;
using Xunit;

namespace ChatPlatform.Cli.Tests;

/// <summary>Stores a persona version as a server and its console would, in the SQLite store of a data folder.</summary>
internal static class ConsoleActivation
{
    /// <summary>
    /// Records the packs folder as a server start does, then edits a draft of <paramref name="personaId"/> with
    /// <paramref name="edit"/> and activates it as the console does.
    /// </summary>
    public static async Task ActivateAsync(string personasDirectory, string dataDirectory, string personaId, Action<IDictionary<string, string>> edit)
    {
        var ct = TestContext.Current.CancellationToken;
        var options = new ChatPlatformOptions { DataDirectory = dataDirectory, PersonasDirectory = personasDirectory };
        var contexts = new ChatDbContextFactory(dataDirectory);
        await ChatDatabase.MigrateAsync(contexts, ct);
        var catalog = PersonaCatalog.Load(personasDirectory);
        await new PersonaVersionSync(contexts).SyncAsync(catalog.All, "packs-folder", ct);
        using var versions = new PersonaVersions(contexts, catalog, options, TimeProvider.System);
        var draft = await versions.GetOrCreateDraftAsync(personaId, "tester", ct);
        var files = PackFiles.Parse(draft.Content);
        edit(files);
        await versions.SaveDraftAsync(personaId, files, "tester", ct);
        var activation = await versions.ActivateDraftAsync(personaId, "tester", ct);
        Assert.True(activation.Succeeded, string.Join("; ", activation.Problems));
        SqliteConnection.ClearAllPools();
    }
}
