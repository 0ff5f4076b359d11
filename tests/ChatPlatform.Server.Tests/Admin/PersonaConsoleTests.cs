using System.IO.Compression;
using System.Net;
using System.Text.Json;
using System.Text;
using ChatPlatform.Admin.Personas;
using ChatPlatform.Core.Personas;
using ChatPlatform.Data.Admin;
using ChatPlatform.Data.Personas;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests.Admin;

public sealed class PersonaConsoleTests(ServerFactory factory) : IClassFixture<ServerFactory>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private PersonaVersions Versions => factory.Services.GetRequiredService<PersonaVersions>();

    private static async Task<string> EnglishGreetingAsync(HttpClient client)
    {
        using var doc = JsonDocument.Parse(await client.GetStringAsync(new Uri("/api/personas", UriKind.Relative), Ct));
        return doc.RootElement.EnumerateArray().First(p => p.GetProperty("id").GetString() == "gradchat")
            .GetProperty("greeting").GetProperty("en").GetString()!;
    }

    [Fact]
    public async Task ActivateDraft_NewGreeting_IsServedAtOnceAndRollbackRestoresIt()
    {
        using var client = factory.CreateClient();
        var before = await EnglishGreetingAsync(client);
        var draft = await Versions.GetOrCreateDraftAsync("gradchat", "tester", Ct);
        var form = PersonaForm.From(PackFiles.Parse(draft.Content));
        form.Greeting["en"] = "Hello from the edited draft.";
        await Versions.SaveDraftAsync("gradchat", form.ApplyTo(PackFiles.Parse(draft.Content)), "tester", Ct);

        var activated = await Versions.ActivateDraftAsync("gradchat", "tester", Ct);
        var after = await EnglishGreetingAsync(client);
        var previous = (await Versions.HistoryAsync("gradchat", Ct)).First(v => v.Status == "retired").Number;
        var rolledBack = await Versions.RollbackAsync("gradchat", previous, "tester", Ct);
        var restored = await EnglishGreetingAsync(client);

        Assert.True(activated.Succeeded, string.Join("; ", activated.Problems));
        Assert.Equal("Hello from the edited draft.", after);
        Assert.True(rolledBack.Succeeded);
        Assert.Equal(before, restored);
    }

    [Fact]
    public async Task ActivateDraft_InvalidPack_IsRefusedAndLiveVersionStays()
    {
        var draft = await Versions.GetOrCreateDraftAsync("mindchat", "tester", Ct);
        var files = PackFiles.Parse(draft.Content);
        files["persona.yaml"] = files["persona.yaml"].Replace("temperature:", "temperature: 9 #", StringComparison.Ordinal);
        await Versions.SaveDraftAsync("mindchat", files, "tester", Ct);
        var live = factory.Services.GetRequiredService<IPersonaCatalog>().Find("mindchat");

        var result = await Versions.ActivateDraftAsync("mindchat", "tester", Ct);

        Assert.False(result.Succeeded);
        Assert.Contains(result.Problems, p => p.Message.Contains("temperature", StringComparison.Ordinal));
        Assert.Same(live, factory.Services.GetRequiredService<IPersonaCatalog>().Find("mindchat"));
    }

    [Fact]
    public async Task Import_ZipSlipEntry_IsRefusedAndNothingStored()
    {
        var archive = factory.Services.GetRequiredService<PersonaArchive>();
        var export = await archive.ExportAsync("sunsimiao", (await Versions.HistoryAsync("sunsimiao", Ct))[0].Number, Ct);
        using var evil = AddEntry(export, "../../outside.md", "escape");
        var before = await Versions.HistoryAsync("sunsimiao", Ct);

        var result = await archive.ImportAsync(evil, "tester", Ct);

        Assert.False(result.Succeeded);
        Assert.Contains(result.Problems, p => p.Contains("leaves the pack folder", StringComparison.Ordinal));
        Assert.Equal(before.Count, (await Versions.HistoryAsync("sunsimiao", Ct)).Count);
        Assert.False(File.Exists(Path.Combine(Versions.VersionsDirectory, "..", "outside.md")));
    }

    [Fact]
    public async Task Import_InvalidPack_NamesTheProblem()
    {
        var archive = factory.Services.GetRequiredService<PersonaArchive>();
        using var zip = Zip(("persona.yaml", "id: brokenbot\nname: Broken\n"));

        var result = await archive.ImportAsync(zip, "tester", Ct);

        Assert.False(result.Succeeded);
        Assert.Contains(result.Problems, p => p.Contains("persona.yaml", StringComparison.Ordinal));
        Assert.Empty(await Versions.HistoryAsync("brokenbot", Ct));
    }

    [Fact]
    public async Task Import_ExportedPackUnderNewId_BecomesADraft()
    {
        var archive = factory.Services.GetRequiredService<PersonaArchive>();
        var export = await archive.ExportAsync("sunsimiao", (await Versions.HistoryAsync("sunsimiao", Ct))[0].Number, Ct);
        using var renamed = Rewrite(export, "persona.yaml", t => t.Replace("id: sunsimiao", "id: sunsimiao2", StringComparison.Ordinal));

        var result = await archive.ImportAsync(renamed, "tester", Ct);

        Assert.True(result.Succeeded, string.Join("; ", result.Problems));
        Assert.Equal("sunsimiao2", result.PersonaId);
        Assert.Equal("draft", Assert.Single(await Versions.HistoryAsync("sunsimiao2", Ct)).Status);
    }

    [Fact]
    public async Task PersonaApi_EditorAllowed_ViewerForbidden()
    {
        var accounts = factory.Services.GetRequiredService<AdminAccounts>();
        var editorPassword = await accounts.CreateAsync("ed", AdminRoles.Editor, "test", Ct);
        var viewerPassword = await accounts.CreateAsync("vi", AdminRoles.Viewer, "test", Ct);
        using var editor = AdminLogin.Client(factory);
        using var viewer = AdminLogin.Client(factory);
        await AdminLogin.SignInAsync(editor, "ed", editorPassword, Ct);
        await AdminLogin.SignInAsync(viewer, "vi", viewerPassword, Ct);

        using var allowed = await editor.GetAsync(new Uri("/admin/api/personas", UriKind.Relative), Ct);
        using var forbidden = await viewer.GetAsync(new Uri("/admin/api/personas", UriKind.Relative), Ct);
        using var editorPage = await editor.GetAsync(new Uri("/admin/personas/gradchat", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Contains("gradchat", await allowed.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(HttpStatusCode.OK, editorPage.StatusCode);
    }

    private static MemoryStream Zip(params (string Name, string Text)[] entries)
    {
        var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, text) in entries)
            {
                using var writer = new StreamWriter(zip.CreateEntry(name).Open(), Encoding.UTF8);
                writer.Write(text);
            }
        }
        buffer.Position = 0;
        return buffer;
    }

    private static MemoryStream AddEntry(byte[] zipBytes, string name, string text) => Rewrite(zipBytes, null, t => t, (name, text));

    private static MemoryStream Rewrite(byte[] zipBytes, string? file, Func<string, string> change, (string Name, string Text)? extra = null)
    {
        using var source = new ZipArchive(new MemoryStream(zipBytes), ZipArchiveMode.Read);
        var entries = source.Entries.Select(e =>
        {
            using var reader = new StreamReader(e.Open());
            var text = reader.ReadToEnd();
            return (e.FullName, e.FullName == file ? change(text) : text);
        }).ToList();
        if (extra is { } x) entries.Add(x);
        return Zip([.. entries]);
    }
}
