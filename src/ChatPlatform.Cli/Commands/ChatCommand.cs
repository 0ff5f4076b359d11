using System.CommandLine;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using ChatPlatform.Inference.Local;
using ChatPlatform.Inference.Remote;
using ChatPlatform.Safety.Output;
using ChatPlatform.Safety.Rails;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Cli.Commands;

/// <summary>
/// <c>chatplatform chat</c>: talk to a persona in the terminal on the local model, or on the remote server when
/// <c>ChatPlatform:Model:Backend</c> is <c>remote</c> and no <c>--model</c> or <c>--adapter</c> asks for a local one.
/// </summary>
internal static class ChatCommand
{
    public static Command Create(CliConsole console)
    {
        var persona = new Option<string>("--persona") { Description = "Persona id, e.g. gradchat.", Required = true };
        var model = new Option<string?>("--model") { Description = "GGUF model file. Default: ChatPlatform:Model:Path, else the generated demo model." };
        var adapter = new Option<string?>("--adapter") { Description = "A LoRA adapter GGUF to use instead of the pack's adapters." };
        var adapterScale = new Option<float>("--adapter-scale") { Description = "Scale for --adapter (0 to 2).", DefaultValueFactory = _ => 1.0f };
        var locale = new Option<string?>("--locale") { Description = "Locale, e.g. en or zh-CN. Default: the pack's first locale." };
        var message = new Option<string?>("--message") { Description = "Send one message, print the reply and exit. Without it the chat is interactive." };
        var seed = new Option<long?>("--seed") { Description = "Sampling seed, for repeatable replies." };
        var personas = new Option<string?>("--personas") { Description = "Persona packs folder. Default: ChatPlatform:PersonasDirectory or ./personas." };
        var threads = new Option<int?>("--threads") { Description = "CPU threads. Default: one per core." };
        var safetyDir = new Option<string?>("--safety-dir") { Description = "The safety folder. Default: ChatPlatform:SafetyDirectory or ./safety." };

        var command = new Command("chat", "Chat with a persona in the terminal.") { persona, model, adapter, adapterScale, locale, message, seed, personas, threads, safetyDir };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = CliSettings.Load();
            if (parse.GetValue(model) is { } modelPath) options.Model.Path = modelPath;
            if (parse.GetValue(personas) is { } dir) options.PersonasDirectory = dir;
            if (parse.GetValue(threads) is { } t) options.Model.Threads = t;
            if (parse.GetValue(safetyDir) is { } safetyPath) options.SafetyDirectory = safetyPath;
            options.Model.MaxConcurrentConversations = 1;
            CliSettings.ThrowIfInvalid(options);

            var scale = parse.GetValue(adapterScale);
            IReadOnlyList<AdapterRef>? adapters = null;
            if (parse.GetValue(adapter) is { } adapterPath)
            {
                if (scale is < 0 or > 2) throw new CliException($"--adapter-scale must be between 0 and 2, got {scale}.");
                if (!File.Exists(adapterPath)) throw new CliException($"{adapterPath}: adapter file not found.");
                adapters = [new AdapterRef(Path.GetFullPath(adapterPath), scale, null)];
            }

            var catalog = PersonaCatalog.Load(options.PersonasDirectory);
            var id = parse.GetValue(persona)!;
            var pack = catalog.Find(id) ?? throw new CliException(
                $"Unknown persona '{id}'. Available: {string.Join(", ", catalog.All.Select(p => p.Id))}." +
                (catalog.Problems.Count > 0 ? $" ({catalog.Problems.Count} pack problem(s); run 'chatplatform packs validate {options.PersonasDirectory}')" : ""));

            using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
            var remote = options.Model.IsRemote && parse.GetValue(model) is null && adapters is null;
            using var backend = remote ? Backend.Remote(options.Remote, loggers) : Backend.Local(options, loggers);
            // The terminal goes through the same input and output rails as every other channel.
            var rules = LoadSafetyRules(options.SafetyDirectory);
            var events = new InMemorySafetyEventSink();
            using var safeClient = new SafetyChatClient(backend.Client, OutputRails.Load(rules, options.SafetyDirectory), catalog, events);
            var orchestrator = new ChatOrchestrator(catalog, safeClient, new InMemoryConversationStore(), options.Core, new InputRails(rules), events);
            var run = new ChatRunOptions(adapters, parse.GetValue(seed));
            var conversation = Guid.NewGuid().ToString("N");
            var chosenLocale = parse.GetValue(locale);

            if (parse.GetValue(message) is { } single)
                return await TurnAsync(console, orchestrator, new ChatTurn(pack.Id, conversation, single, chosenLocale, "cli"), run, cancellationToken);

            await console.Out.WriteLineAsync($"{pack.Name}: {pack.GreetingFor(chosenLocale)}");
            await console.Out.WriteLineAsync("(Type a message and press Enter; an empty line or Ctrl+D ends the chat.)");
            while (true)
            {
                await console.Out.WriteAsync("> ");
                var line = await console.In.ReadLineAsync(cancellationToken);
                if (string.IsNullOrWhiteSpace(line) || line.Trim() is "/exit" or "/quit") return 0;
                var code = await TurnAsync(console, orchestrator, new ChatTurn(pack.Id, conversation, line, chosenLocale, "cli"), run, cancellationToken);
                if (code != 0 && code != 2) return code;
            }
        });
        return command;
    }

    /// <summary>The chat client and whatever it needs kept alive until the chat ends.</summary>
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

        public static Backend Remote(RemoteOptions options, ILoggerFactory loggers)
        {
            var http = RemoteHttp.CreateClient(options, loggers.CreateLogger<RemoteChatClient>());
            return new Backend(new RemoteChatClient(http, options, loggers.CreateLogger<RemoteChatClient>()), http);
        }

        public void Dispose()
        {
            Client.Dispose();
            foreach (var item in owned) item.Dispose();
        }
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

    private static async Task<int> TurnAsync(CliConsole console, ChatOrchestrator orchestrator, ChatTurn turn, ChatRunOptions run, CancellationToken cancellationToken)
    {
        ChatStart start;
        try
        {
            start = await orchestrator.StartAsync(turn, run, cancellationToken);
        }
        catch (ModelLoadException e)
        {
            throw new CliException(e.Message);
        }
        if (start.Error is { } error)
        {
            await console.Error.WriteLineAsync($"{error.Code}: {error.Message}");
            return 2;
        }

        await foreach (var e in start.Events!.WithCancellation(cancellationToken))
        {
            switch (e)
            {
                case ChatDelta d:
                    await console.Out.WriteAsync(d.Text);
                    await console.Out.FlushAsync(cancellationToken);
                    break;
                case ChatCompleted:
                    await console.Out.WriteLineAsync();
                    break;
                case ChatFailed f:
                    await console.Out.WriteLineAsync();
                    await console.Error.WriteLineAsync($"{f.Error.Code}: {f.Error.Message}");
                    return 3;
            }
        }
        return 0;
    }
}
