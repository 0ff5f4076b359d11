using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Knowledge;
using ChatPlatform.Core.Personas;
using ChatPlatform.Data;
using ChatPlatform.Knowledge.Search;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Knowledge;

public static partial class KnowledgeServiceCollectionExtensions
{
    /// <summary>
    /// Registers the knowledge base (documents and curated answers in the store, this node's index under the data
    /// directory) as the orchestrator's <see cref="IKnowledgeRetriever"/>, with the embedding model when one is configured.
    /// </summary>
    public static IServiceCollection AddKnowledge(this IServiceCollection services, ChatPlatformOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(_ => new KnowledgeIndex(options.KnowledgeIndexPath));
        if (!string.IsNullOrWhiteSpace(options.Knowledge.EmbeddingModelPath))
            services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(_ => new LlamaEmbeddingGenerator(options.Knowledge.EmbeddingModelPath, options.Model.Threads));
        services.AddSingleton(sp => new KnowledgeBase(
            sp.GetRequiredService<IDbContextFactory<ChatDbContext>>(),
            sp.GetRequiredService<KnowledgeIndex>(),
            sp.GetService<IEmbeddingGenerator<string, Embedding<float>>>(),
            TimeSpan.FromSeconds(options.Knowledge.RefreshSeconds),
            sp.GetService<TimeProvider>(),
            sp.GetService<ILogger<KnowledgeBase>>()));
        services.AddSingleton<IKnowledgeRetriever>(sp => sp.GetRequiredService<KnowledgeBase>());
        return services;
    }

    /// <summary>
    /// Start-up: loads the Chinese dictionary and brings every pack's knowledge/ folder into the store (unchanged files
    /// are skipped by hash). A file that cannot be imported is logged and skipped; the server still starts.
    /// </summary>
    public static async Task SyncPackKnowledgeAsync(this IServiceProvider services, IEnumerable<PersonaPack> packs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(packs);
        var knowledge = services.GetRequiredService<KnowledgeBase>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("ChatPlatform.Knowledge");
        TextAnalyzer.Warm();
        foreach (var pack in packs)
        {
            var result = await knowledge.SyncPackAsync(pack, cancellationToken);
            foreach (var problem in result.Problems)
                LogPackFileSkipped(logger, pack.Id, problem);
            var changed = result.Documents.Count(d => d.Status != IngestStatus.Unchanged);
            if (changed > 0 || result.Removed > 0)
                LogPackSynced(logger, pack.Id, changed, result.Removed, result.Curated);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Knowledge file of persona {Persona} skipped: {Problem}")]
    private static partial void LogPackFileSkipped(ILogger logger, string persona, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Knowledge of persona {Persona}: {Changed} document(s) imported, {Removed} removed, {Curated} curated answer(s)")]
    private static partial void LogPackSynced(ILogger logger, string persona, int changed, int removed, int curated);
}
