using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using ChatPlatform.Data.Personas;
using ChatPlatform.Inference.Local;
using ChatPlatform.Inference.Remote;
using ChatPlatform.Safety;
using ChatPlatform.Safety.Output;
using ChatPlatform.Safety.Rails;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChatPlatform.Cli.Commands;

/// <summary>
/// The chat pipeline of a command that serves turns in the terminal (<c>chat</c>, <c>packs eval</c>): the model, and
/// the input and output rails of the safety folder assembled as the server assembles them
/// (<see cref="ChatPipelineExtensions.AddChatPipeline"/>). Conversations stay in memory; safety events are kept for
/// the command.
/// </summary>
internal sealed class CliPipeline : IDisposable
{
    private readonly Backend _backend;
    private readonly ServiceProvider _services;

    private CliPipeline(Backend backend, ServiceProvider services)
    {
        _backend = backend;
        _services = services;
    }

    public ChatPipeline Pipeline => _services.GetRequiredService<ChatPipeline>();

    public ChatOrchestrator Orchestrator => _services.GetRequiredService<ChatOrchestrator>();

    /// <summary>
    /// Loads the safety folder and the model: the local one, or the remote server when <paramref name="remote"/>.
    /// </summary>
    public static CliPipeline Create(CliSettings options, IPersonaCatalog catalog, bool remote, ILoggerFactory loggers)
    {
        var rules = LoadSafetyRules(options.SafetyDirectory);
        var outputRails = OutputRails.Load(rules, options.SafetyDirectory);
        var backend = remote ? Backend.Remote(options.Remote, loggers) : Backend.Local(options, loggers);
        var services = new ServiceCollection()
            .AddSingleton(options.Core)
            .AddSingleton(catalog)
            .AddSingleton(outputRails)
            .AddSingleton<IInputSafety>(new InputRails(rules))
            .AddSingleton<ISafetyEventSink>(new InMemorySafetyEventSink())
            .AddSingleton<IConversationStore>(new InMemoryConversationStore());
        services.AddChatClient(_ => backend.Client).UseChatPipeline();
        services.AddChatPipeline();
        return new CliPipeline(backend, services.BuildServiceProvider());
    }

    /// <summary>
    /// The packs folder's packs with the versions activated in the admin console in their place, as a server on the
    /// same store serves them (<see cref="PersonaVersions.RestoreAsync"/>). A SQLite store that does not exist yet
    /// holds no versions, and none is made for it.
    /// </summary>
    public static async Task<PersonaCatalog> LoadCatalogAsync(CliSettings options, CliConsole console, CancellationToken cancellationToken)
    {
        var catalog = PersonaCatalog.Load(options.PersonasDirectory);
        if (CliSettings.IsMissingSqlite(options)) return catalog;
        var contexts = await CliSettings.MigrateAsync(options, cancellationToken);
        using var versions = new PersonaVersions(contexts, catalog, options.Core, TimeProvider.System);
        var restored = await versions.RestoreAsync(cancellationToken);
        if (restored.NotLoaded.Count > 0)
            await console.Error.WriteLineAsync($"The active version of {string.Join(", ", restored.NotLoaded)} does not load here " +
                "(a file it names, such as an adapter, is missing); the packs folder's copy is used.");
        return catalog;
    }

    /// <summary>The pack with this id, or a one-line error listing the ones there are.</summary>
    public static PersonaPack FindPack(PersonaCatalog catalog, string id, CliSettings options) =>
        catalog.Find(id) ?? throw new CliException(
            $"Unknown persona '{id}'. Available: {string.Join(", ", catalog.All.Select(p => p.Id))}." +
            (catalog.Problems.Count > 0 ? $" ({catalog.Problems.Count} pack problem(s); run 'chatplatform packs validate {options.PersonasDirectory}')" : ""));

    public void Dispose()
    {
        // The pipeline's middlewares first; they pass the dispose on to the model's client, which shares nothing it owns.
        _services.Dispose();
        _backend.Dispose();
    }

    private static SafetyRules LoadSafetyRules(string directory)
    {
        try
        {
            return SafetyRules.Load(directory);
        }
        catch (Exception e) when (e is DirectoryNotFoundException or FileNotFoundException or InvalidDataException or FormatException)
        {
            throw new CliException(e.Message);
        }
    }

    /// <summary>The chat client and whatever it needs kept alive until the command ends.</summary>
    private sealed class Backend(IChatClient client, params IDisposable[] owned) : IDisposable
    {
        public IChatClient Client { get; } = client;

        public static Backend Local(CliSettings options, ILoggerFactory loggers)
        {
            var path = ModelLocator.Resolve(options.Model, options.DataDirectory, loggers.CreateLogger("chatplatform"));
            LocalModel local;
            try
            {
                local = LocalModel.Load(path, options.Model.EffectiveThreads);
            }
            catch (ModelLoadException e)
            {
                throw new CliException(e.Message);
            }
            var engine = new InferenceEngine(local, options.Model, NullLogger<InferenceEngine>.Instance);
            return new Backend(new LocalChatClient(local, engine, options.Model, NullLogger<LocalChatClient>.Instance), engine, local);
        }

        public static Backend Remote(RemoteOptions options, ILoggerFactory loggers) =>
            new(new RemoteChatClient(options, loggers.CreateLogger<RemoteChatClient>()));

        /// <summary>Disposes what the client stands on; the client itself is disposed by the pipeline around it.</summary>
        public void Dispose()
        {
            foreach (var item in owned) item.Dispose();
        }
    }
}
