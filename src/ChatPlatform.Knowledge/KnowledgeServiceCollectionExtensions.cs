using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Knowledge;
using ChatPlatform.Core.Personas;
using ChatPlatform.Data;
using ChatPlatform.Data.Nodes;
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
    /// directory) as the orchestrator's <see cref="IKnowledgeRetriever"/>. Passages are embedded with the registered
    /// <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> when there is one (the inference core registers it when an
    /// embedding model is configured); without one, search is lexical only. The <c>ChatPlatform:Knowledge</c> section
    /// is registered and checked at start-up (<see cref="KnowledgeSections"/>).
    /// </summary>
    public static IServiceCollection AddKnowledge(this IServiceCollection services)
    {
        services.AddKnowledgeOptions();
        services.AddSingleton(sp => new KnowledgeIndex(
            sp.GetRequiredService<KnowledgeOptions>().IndexFileIn(sp.GetRequiredService<ChatPlatformOptions>().DataDirectory)));
        services.AddSingleton(sp => new KnowledgeBase(
            sp.GetRequiredService<IDbContextFactory<ChatDbContext>>(),
            sp.GetRequiredService<KnowledgeIndex>(),
            sp.GetService<IEmbeddingGenerator<string, Embedding<float>>>(),
            TimeSpan.FromSeconds(sp.GetRequiredService<KnowledgeOptions>().RefreshSeconds),
            sp.GetService<TimeProvider>(),
            sp.GetService<ILogger<KnowledgeBase>>()));
        services.AddSingleton<IKnowledgeRetriever>(sp => sp.GetRequiredService<KnowledgeBase>());
        return services;
    }

    /// <summary>The lease under which one node at a time imports the packs' knowledge into a shared store.</summary>
    public const string PackImportJob = "knowledge-pack-import";

    /// <summary>Long enough for a large pack with embeddings; a node that dies mid-import frees it after this.</summary>
    public static readonly TimeSpan PackImportLease = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Start-up: loads the Chinese dictionary and brings every pack's knowledge/ folder into the store (unchanged files
    /// are skipped by hash). A file that cannot be imported is logged and skipped; the server still starts. Nodes
    /// sharing a store import under one lease; a node that finds it taken builds its own index from what is stored,
    /// and the stamp check picks up the rest of the other node's import.
    /// </summary>
    public static async Task SyncPackKnowledgeAsync(this IServiceProvider services, IEnumerable<PersonaPack> packs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(packs);
        var knowledge = services.GetRequiredService<KnowledgeBase>();
        var leases = services.GetRequiredService<JobLeases>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("ChatPlatform.Knowledge");
        TextAnalyzer.Warm();
        if (!await leases.TryTakeAsync(PackImportJob, PackImportLease, cancellationToken))
        {
            LogImportLeasedElsewhere(logger);
            foreach (var pack in packs)
                await knowledge.EnsureIndexAsync(pack.Id, cancellationToken: cancellationToken);
            return;
        }
        try
        {
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
        finally
        {
            await leases.ReleaseAsync(PackImportJob, CancellationToken.None);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pack knowledge is being imported by another node; this node indexes what the store holds")]
    private static partial void LogImportLeasedElsewhere(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Knowledge file of persona {Persona} skipped: {Problem}")]
    private static partial void LogPackFileSkipped(ILogger logger, string persona, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Knowledge of persona {Persona}: {Changed} document(s) imported, {Removed} removed, {Curated} curated answer(s)")]
    private static partial void LogPackSynced(ILogger logger, string persona, int changed, int removed, int curated);
}
