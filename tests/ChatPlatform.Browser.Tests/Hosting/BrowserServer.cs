using System.Net;
using ChatPlatform.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit;

namespace ChatPlatform.Browser.Tests.Hosting;

/// <summary>
/// The real server on Kestrel at 127.0.0.1 (a free port, a temporary data folder, the reference packs and the
/// generated tiny model) plus headless Chromium from Debian's <c>chromium</c> package, driven by Playwright.
/// Use it as a class or collection fixture; derive and override <see cref="Configure"/> to change settings.
/// </summary>
public class BrowserServer : WebApplicationFactory<Program>, IAsyncLifetime
{
    /// <summary>Debian's browser; <c>CHATPLATFORM_CHROMIUM</c> names another binary.</summary>
    public static string ChromiumPath =>
        Environment.GetEnvironmentVariable("CHATPLATFORM_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    /// <summary>Where screenshots go: <c>TestResults/screenshots</c> under the repository root.</summary>
    public static string ScreenshotFolder => Path.Combine(RepoPaths.Root, "TestResults", "screenshots");

    private static readonly string[] ChromiumArgs =
        ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("chatplatform-browser-").FullName;

    /// <summary>The SQLite database the server writes.</summary>
    public string DatabasePath => Path.Combine(DataDirectory, "chatplatform.db");

    /// <summary>The server's address, e.g. <c>http://127.0.0.1:41234</c> (no trailing slash).</summary>
    public Uri BaseUrl { get; private set; } = null!;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The fixture is not initialised.");

    /// <summary>Settings applied on top of the server's defaults before it starts.</summary>
    protected virtual void Configure(IDictionary<string, string?> settings)
    {
    }

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"Chromium is not installed at {ChromiumPath}: run ./test.sh (it installs Debian's chromium package) or 'apt-get install chromium'.");

        UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        StartServer();
        var address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUrl = new Uri(address.TrimEnd('/'));

        _playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumArgs,
        });
    }

    /// <summary>A fresh browser context and page whose relative URLs resolve against the server.</summary>
    public async Task<IPage> NewPageAsync(string? locale = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseUrl.ToString(),
            Locale = locale ?? "en-US",
            ViewportSize = new ViewportSize { Width = 1100, Height = 800 },
        });
        return await context.NewPageAsync();
    }

    /// <summary>Saves a full-page screenshot under <see cref="ScreenshotFolder"/> and reports where it went.</summary>
    public static async Task<string> ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotFolder);
        var path = Path.Combine(ScreenshotFolder, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        TestContext.Current.TestOutputHelper?.WriteLine($"Screenshot: {path}");
        return path;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ChatPlatform:DataDirectory"] = DataDirectory,
            ["ChatPlatform:PersonasDirectory"] = RepoPaths.Personas,
            ["ChatPlatform:SafetyDirectory"] = RepoPaths.Safety,
            ["ChatPlatform:Model:Path"] = TestModels.TinyPath,
            ["ChatPlatform:Model:ContextSize"] = "2048",
            ["ChatPlatform:Model:Threads"] = "2",
            // The browser and the test share one address; the limit has its own tests.
            ["ChatPlatform:RateLimit:PermitsPerWindow"] = "0",
        };
        Configure(settings);
        builder.UseEnvironment("Production");
        foreach (var (key, value) in settings)
            builder.UseSetting(key, value);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_browser is not null) await _browser.CloseAsync();
        _playwright?.Dispose();
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
        GC.SuppressFinalize(this);
    }
}
