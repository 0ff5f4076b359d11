using ChatPlatform.Channels;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Metrics;
using ChatPlatform.Core.Personas;
using ChatPlatform.Data;
using ChatPlatform.Data.Personas;
using ChatPlatform.Inference;
using ChatPlatform.Knowledge;
using ChatPlatform.Safety;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Server.Hosting;

/// <summary>Composition of the whole platform in one host.</summary>
public static partial class ChatPlatformHosting
{
    public static WebApplicationBuilder AddChatPlatform(this WebApplicationBuilder builder)
    {
        // Each capability registers and checks its own section (AddInference, AddChatData, …); a bad value stops
        // start-up in PrepareChatPlatformAsync with messages that name the keys.
        builder.Services.AddChatPlatformOptions();
        var options = ChatPlatformOptions.Validator.Bind(builder.Configuration);
        // Several nodes share one PostgreSQL database: a token one node issues must verify on the others, so they
        // cannot each make up a key of their own.
        var signingKey = $"{ChatPlatform.Channels.DirectLine.DirectLineOptions.SectionName}:TokenSigningKey";
        if (DataSections.Database.Bind(builder.Configuration).IsPostgres && string.IsNullOrEmpty(builder.Configuration[signingKey]))
            throw new OptionsValidationException(ChatPlatformOptions.SectionName, typeof(ChatPlatformOptions),
                [$"{signingKey} is required when {DatabaseOptions.SectionName}:Provider is 'Postgres': every node must sign " +
                "Direct Line and /api/chat tokens with the same key (32 or more characters), or a token issued by one node is refused by the others"]);

        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<ErrorHandler>();
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.Configure<JsonOptions>(o => o.SerializerOptions.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping);

        // One catalog: the channels read it, activating a persona version swaps a pack in it.
        builder.Services.AddSingleton<IWritablePersonaCatalog>(sp =>
        {
            var catalog = PersonaCatalog.Load(options.PersonasDirectory);
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("ChatPlatform.Personas");
            foreach (var problem in catalog.Problems)
                LogPackProblem(logger, problem.ToString());
            var ids = string.Join(", ", catalog.All.Select(p => p.Id));
            var directory = Path.GetFullPath(options.PersonasDirectory);
            if (catalog.All.Count == 0)
                throw new PackLoadException(catalog.Problems.Count > 0
                    ? catalog.Problems
                    : [new PackProblem(options.PersonasDirectory, 0, "no persona packs found (each pack is a folder with persona.yaml)")]);
            LogPacksLoaded(logger, catalog.All.Count, ids, directory);
            return catalog;
        });
        builder.Services.AddSingleton<IPersonaCatalog>(sp => sp.GetRequiredService<IWritablePersonaCatalog>());
        builder.Services.AddSingleton(builder.Configuration.GetSection(ChatPlatform.Data.Safety.SafetyReviewOptions.SectionName)
            .Get<ChatPlatform.Data.Safety.SafetyReviewOptions>() ?? new ChatPlatform.Data.Safety.SafetyReviewOptions());
        builder.Services.AddChatData(builder.Configuration);
        builder.Services.AddKnowledge();
        builder.Services.AddSafety(options.SafetyDirectory);
        // Safety events are stored for reviewers and also logged and sent to the on-call webhook.
        builder.Services.AddSingleton<ChatPlatform.Core.Safety.ISafetyEventSink>(sp => new ChatPlatform.Core.Safety.CompositeSafetyEventSink(
        [
            sp.GetRequiredService<ChatPlatform.Data.Safety.StoredSafetyEventSink>(),
            sp.GetRequiredService<ChatPlatform.Safety.Events.NotifyingSafetyEventSink>(),
        ]));
        builder.AddTelemetry();
        builder.AddInference(chat => chat.UseChatPipeline());
        var judge = SafetySections.SafetyJudge.Bind(builder.Configuration);
        if (judge.IsEnabled)
        {
            builder.AddSafetyJudgeClient(judge, ChatPlatform.Safety.Judge.JudgedInputSafety.JudgeClientKey);
            builder.Services.AddSafetyJudge();
        }
        builder.Services.AddChatPipeline();
        builder.AddChannels(options.DataDirectory);
        builder.Services.AddReadinessChecks(InferenceSections.Model.Bind(builder.Configuration));
        // Drains new and running turns when the server is asked to stop, before any service (the web server included) stops.
        GracefulDrain.Register(builder);
        return builder;
    }

    /// <summary>Work that must finish before the first request: schema, packs and the model.</summary>
    public static async Task PrepareChatPlatformAsync(this WebApplication app)
    {
        // Every section is checked before anything uses it, so a bad value is reported by its key, not by what it breaks.
        SectionOptions.ValidateAll(app.Services);
        await app.Services.MigrateChatDatabaseAsync();
        var catalog = app.Services.GetRequiredService<IPersonaCatalog>();
        await app.Services.GetRequiredService<PersonaVersionSync>().SyncAsync(catalog.All, "packs-folder", CancellationToken.None);
        if (app.Services.GetRequiredService<KnowledgeOptions>().IngestPacksAtStartup)
            await app.Services.SyncPackKnowledgeAsync(catalog.All, CancellationToken.None);
        _ = app.Services.GetRequiredService<ChatPlatform.Core.Safety.IInputSafety>();
        var safety = app.Services.GetRequiredService<ChatPlatform.Safety.Rails.SafetyRules>().Model;
        var safetyLogger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ChatPlatform.Safety");
        if (safety.EmbedderStatus is { } off) LogEmbeddingsOff(safetyLogger, off);
        else LogEmbeddingsOn(safetyLogger, safety.EmbedderName);
        if (safety.WordClasses is { } classes) LogWordClasses(safetyLogger, classes.Name);
        // The dashboard's reader listens from the start, so it misses no reply (and no change of the replies in progress).
        _ = app.Services.GetRequiredService<ChatMetrics>();
        _ = app.Services.GetRequiredService<Microsoft.Extensions.AI.IChatClient>();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Input rails: classifiers with {Embedder} sentence embeddings for English")]
    private static partial void LogEmbeddingsOn(ILogger logger, string embedder);

    [LoggerMessage(Level = LogLevel.Information, Message = "Input rails: Chinese words read by their classes of meaning, {WordClasses}")]
    private static partial void LogWordClasses(ILogger logger, string wordClasses);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Input rails: sentence embeddings off ({Reason}); the classifiers run on n-grams and cues")]
    private static partial void LogEmbeddingsOff(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Persona pack problem (pack skipped): {Problem}")]
    private static partial void LogPackProblem(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded {Count} persona pack(s): {Ids} from {Directory}")]
    private static partial void LogPacksLoaded(ILogger logger, int count, string ids, string directory);
}
