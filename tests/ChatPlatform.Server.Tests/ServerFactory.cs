using ChatPlatform.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace ChatPlatform.Server.Tests;

/// <summary>The real host on a temporary data folder, the reference packs and the generated tiny model.</summary>
public sealed class ServerFactory : WebApplicationFactory<Program>
{
    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("chatplatform-server-").FullName;

    /// <summary>Extra settings applied on top of the defaults, before the host is built.</summary>
    public Dictionary<string, string?> Settings { get; } = new()
    {
        ["ChatPlatform:Model:Path"] = TestModels.TinyPath,
        ["ChatPlatform:Model:ContextSize"] = "2048",
        ["ChatPlatform:Model:Threads"] = "2",
        ["ChatPlatform:MaxMessageChars"] = "500",
        // Every test client shares one address; the limit has its own test.
        ["ChatPlatform:RateLimit:PermitsPerWindow"] = "0",
    };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("ChatPlatform:DataDirectory", DataDirectory);
        builder.UseSetting("ChatPlatform:PersonasDirectory", RepoPaths.Personas);
        builder.UseSetting("ChatPlatform:SafetyDirectory", RepoPaths.Safety);
        foreach (var (key, value) in Settings)
            builder.UseSetting(key, value);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
    }
}
