using System.Text.Json;
using ChatPlatform.Admin.Personas;
using ChatPlatform.Data.Personas;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests.Admin;

public sealed class PersonaRestartTests
{
    [Fact]
    public async Task Restart_AfterConsoleActivation_ServesTheActivatedVersion()
    {
        var ct = TestContext.Current.CancellationToken;
        var data = Directory.CreateTempSubdirectory("chatplatform-restart-").FullName;
        try
        {
            using (var first = new ServerFactory())
            {
                first.Settings["ChatPlatform:DataDirectory"] = data;
                using var client = first.CreateClient();
                var versions = first.Services.GetRequiredService<PersonaVersions>();
                var draft = await versions.GetOrCreateDraftAsync("gradchat", "tester", ct);
                var files = PackFiles.Parse(draft.Content);
                var form = PersonaForm.From(files);
                form.Greeting["en"] = "Greeting that must survive a restart.";
                await versions.SaveDraftAsync("gradchat", form.ApplyTo(files), "tester", ct);
                Assert.True((await versions.ActivateDraftAsync("gradchat", "tester", ct)).Succeeded);
            }
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

            using var second = new ServerFactory();
            second.Settings["ChatPlatform:DataDirectory"] = data;
            using var again = second.CreateClient();
            using var doc = JsonDocument.Parse(await again.GetStringAsync(new Uri("/api/personas", UriKind.Relative), ct));

            var gradchat = doc.RootElement.EnumerateArray().First(p => p.GetProperty("id").GetString() == "gradchat");
            Assert.Equal("Greeting that must survive a restart.", gradchat.GetProperty("greeting").GetProperty("en").GetString());
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }
}
