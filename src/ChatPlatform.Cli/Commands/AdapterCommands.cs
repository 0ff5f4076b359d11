using System.CommandLine;
using System.Globalization;
using ChatPlatform.Core.Personas;
using ChatPlatform.Inference.Training;

namespace ChatPlatform.Cli.Commands;

/// <summary><c>chatplatform adapter train</c>.</summary>
internal static class AdapterCommands
{
    public static Command Create(CliConsole console) => new("adapter", "LoRA adapters: train one on conversations for a persona.")
    {
        Train(console),
    };

    private static Command Train(CliConsole console)
    {
        var basePath = new Option<string>("--base") { Description = "Base model GGUF (F32, F16 or BF16 weights; llama or qwen2 architecture).", Required = true };
        var data = new Option<string>("--data") { Description = "Conversations, JSON Lines: {\"messages\":[{\"role\":\"user\",\"content\":…},{\"role\":\"assistant\",…}]} per line.", Required = true };
        var output = new Option<string>("--out") { Description = "Adapter GGUF to write; replaced only once the new file has been checked.", Required = true };
        var persona = new Option<string?>("--persona") { Description = "Persona id: its system prompt opens every conversation (system messages in the data are dropped)." };
        var locale = new Option<string?>("--locale") { Description = "Locale of the persona's system prompt. Default: the pack's first locale." };
        var personas = new Option<string?>("--personas") { Description = "Persona packs folder. Default: ChatPlatform:PersonasDirectory or ./personas." };
        var rank = new Option<int>("--rank") { Description = "Adapter rank.", DefaultValueFactory = _ => 8 };
        var alpha = new Option<float?>("--alpha") { Description = "LoRA alpha stored in the adapter (llama.cpp scales by alpha / rank). Default: the rank. The adapter at scale 1.0 applies the trained change whatever the alpha." };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the data.", DefaultValueFactory = _ => 3 };
        var learningRate = new Option<float>("--lr") { Description = "AdamW learning rate at the start; it decays linearly to a tenth by the end.", DefaultValueFactory = _ => 1e-4f };
        var stepTokens = new Option<int>("--step-tokens") { Description = "Tokens per optimiser step (slices without reply tokens change nothing).", DefaultValueFactory = _ => 16 };
        var threads = new Option<int>("--threads") { Description = "CPU threads. Default: all.", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { Description = "Seed for the data order and the SVD.", DefaultValueFactory = _ => 1 };

        var command = new Command("train",
            "Train a LoRA adapter with llama.cpp's own training on the replies of chat conversations (formatted with the model's chat template), " +
            "then extract it from the trained weights by truncated SVD. Ctrl+C stops and writes nothing.")
        {
            basePath, data, output, persona, locale, personas, rank, alpha, epochs, learningRate, stepTokens, threads, seed,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            string? systemPrompt = null;
            var personaId = parse.GetValue(persona);
            if (personaId is not null)
            {
                // The persona as it is served: the version activated in the console, else the packs folder's.
                var settings = CliSettings.Load();
                if (parse.GetValue(personas) is { } folder) settings.PersonasDirectory = folder;
                var catalog = await CliPipeline.LoadCatalogAsync(settings, console, cancellationToken);
                var pack = catalog.Find(personaId) ?? throw new CliException(
                    $"--persona: unknown persona '{personaId}' in {settings.PersonasDirectory}. Available: {string.Join(", ", catalog.All.Select(p => p.Id))}.");
                systemPrompt = pack.SystemPromptFor(parse.GetValue(locale));
            }

            var options = new AdapterTrainingOptions
            {
                BasePath = parse.GetValue(basePath)!,
                DataPath = parse.GetValue(data)!,
                OutputPath = parse.GetValue(output)!,
                SystemPrompt = systemPrompt,
                PersonaId = personaId,
                Rank = parse.GetValue(rank),
                Alpha = parse.GetValue(alpha),
                Epochs = parse.GetValue(epochs),
                LearningRate = parse.GetValue(learningRate),
                StepTokens = parse.GetValue(stepTokens),
                Threads = parse.GetValue(threads),
                Seed = parse.GetValue(seed),
            };

            var bar = new ProgressBar(console.Error, enabled: true);
            var progress = new TrainingProgress(console, bar);
            var result = await ProgressBar.RunAsync<AdapterTrainingResult, AdapterTrainingException>(bar,
                () => AdapterTrainer.TrainAsync(options, progress, cancellationToken), options.OutputPath, "the adapter");
            var size = new FileInfo(result.Path).Length;
            await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"wrote {result.Path} (LoRA rank {result.Rank} on {result.AdaptedTensors} tensors, keeps {result.Retained:P1} of the trained change, {ModelCommands.FormatBytes(size)}; {result.Elapsed.TotalSeconds:0.0} s)"));
            var first = result.Epochs[0];
            var last = result.Epochs[^1];
            await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"trained on {result.Conversations} conversation(s) in a {result.WindowTokens}-token window, {result.ReplyTokens} reply tokens, {ModelCommands.FormatCount(result.TrainedParameters)} weights: reply loss {first.ReplyLoss:0.000} -> {last.ReplyLoss:0.000}, reply tokens right {first.ReplyAccuracy:P1} -> {last.ReplyAccuracy:P1}"));
            await console.Out.WriteLineAsync($"checked: a LoRA adapter for {result.Base.Architecture} that llama.cpp loads on {options.BasePath}");
            return 0;
        });
        return command;
    }

    /// <summary>One line per epoch on standard output, a bar for the conversations of the epoch running and for the extraction.</summary>
    private sealed class TrainingProgress(CliConsole console, ProgressBar bar) : IProgress<AdapterTrainingProgress>
    {
        public void Report(AdapterTrainingProgress value)
        {
            if (value.Finished is { } epoch)
            {
                bar.Done();
                var label = epoch.Epoch == 0 ? $"epoch 0/{value.Epochs} (before training)" : $"epoch {epoch.Epoch}/{value.Epochs}";
                var step = double.IsNaN(epoch.StepLoss) ? "" : string.Create(CultureInfo.InvariantCulture, $", step loss {epoch.StepLoss:0.000}, {epoch.Elapsed.TotalSeconds:0.0} s");
                console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{label}: reply loss {epoch.ReplyLoss:0.000}, reply tokens right {epoch.ReplyAccuracy:P1}{step}"));
                return;
            }

            switch (value.Stage)
            {
                case "prepare":
                    console.Error.WriteLine(value.Message);
                    break;
                case "train":
                    bar.Report(value.Done / (double)Math.Max(1, value.Total), $"  epoch {value.Epoch}/{value.Epochs}, {value.Done}/{value.Total} conversations");
                    break;
                case "extract":
                    bar.Report(value.Done / (double)Math.Max(1, value.Total), $"  extracting [{value.Done}/{value.Total}]");
                    break;
                case "write":
                    bar.Done();
                    console.Error.WriteLine(value.Message);
                    break;
            }
        }
    }
}
