using System.CommandLine;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using ChatPlatform.Inference.Local;
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
        var dataDir = new Option<string?>("--data-dir") { Description = "Data folder whose store holds the persona versions activated in the console. Default: ChatPlatform:DataDirectory." };

        var command = new Command("chat", "Chat with a persona in the terminal.") { persona, model, adapter, adapterScale, locale, message, seed, personas, threads, safetyDir, dataDir };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = CliSettings.Load();
            if (parse.GetValue(model) is { } modelPath) options.Model.Path = modelPath;
            if (parse.GetValue(personas) is { } dir) options.PersonasDirectory = dir;
            if (parse.GetValue(threads) is { } t) options.Model.Threads = t;
            if (parse.GetValue(safetyDir) is { } safetyPath) options.SafetyDirectory = safetyPath;
            if (parse.GetValue(dataDir) is { } data) options.DataDirectory = data;
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

            // Persona versions activated in the admin console are served here too.
            var catalog = await CliPipeline.LoadCatalogAsync(options, console, cancellationToken);
            var pack = CliPipeline.FindPack(catalog, parse.GetValue(persona)!, options);

            using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
            var remote = options.Model.IsRemote && parse.GetValue(model) is null && adapters is null;
            // The terminal goes through the same input and output rails as every other channel.
            using var pipeline = CliPipeline.Create(options, catalog, remote, loggers);
            var orchestrator = pipeline.Orchestrator;
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
