using ChatPlatform.Core.ApiKeys;
using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Privacy;
using ChatPlatform.Core.Safety;
using ChatPlatform.Data.Admin;
using ChatPlatform.Data.Conversations;
using ChatPlatform.Data.Lifecycle;
using ChatPlatform.Data.Personas;
using ChatPlatform.Data.Safety;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Data;

public static class DataServiceCollectionExtensions
{
    /// <summary>
    /// Registers the store on the configured provider: the conversation store, the safety event sink with its
    /// background writer, the data lifecycle (export, erase, purge), the retention job, the API keys, persona versions
    /// (served from start-up on in place of the packs folder's copies; needs <see cref="Core.Personas.IWritablePersonaCatalog"/>),
    /// and what nodes sharing a store coordinate through it (delivery ids, job leases). The <c>ChatPlatform:Database</c>
    /// and <c>ChatPlatform:Retention</c> sections of <paramref name="configuration"/> are registered and checked at
    /// start-up (<see cref="DataSections"/>).
    /// </summary>
    public static IServiceCollection AddChatData(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddDataOptions();
        var database = DataSections.Database.Bind(configuration);
        services.AddSingleton(sp => new ChatDbContextFactory(sp.GetRequiredService<DatabaseOptions>(), sp.GetRequiredService<ChatPlatformOptions>().DataDirectory));
        services.AddSingleton<IDbContextFactory<ChatDbContext>>(sp => sp.GetRequiredService<ChatDbContextFactory>());
        services.TryAddSingleton<ITextRedactor>(IdentityRedactor.Instance);
        services.AddSingleton<EfConversationStore>();
        services.AddSingleton<IConversationStore>(sp => sp.GetRequiredService<EfConversationStore>());
        services.AddSingleton<StoredSafetyEventSink>();
        services.AddSingleton<ISafetyEventSink>(sp => sp.GetRequiredService<StoredSafetyEventSink>());
        services.AddHostedService<SafetyEventWriter>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<DataLifecycle>();
        services.AddSingleton<PersonaVersionSync>();
        services.AddSingleton<PersonaVersions>();
        services.AddHostedService(sp => new PersonaVersionWatcher(sp.GetRequiredService<PersonaVersions>(),
            TimeSpan.FromSeconds(sp.GetRequiredService<ChatPlatformOptions>().PersonaRefreshSeconds), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<PersonaVersionWatcher>>()));
        // Failed sign-ins per client address are counted in this node's memory.
        services.AddSingleton(sp => new Admin.AddressThrottle(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<Admin.AdminAccounts>();
        // Slack event ids and Bot Framework activity ids, so a message is answered once whichever node a retry reaches.
        services.AddSingleton<Channels.DeliveryLog>();
        services.AddSingleton<IDeliveryLog>(sp => sp.GetRequiredService<Channels.DeliveryLog>());
        // Ratings given on a channel (reactions in Teams), beside the channel conversation's transcript.
        services.AddSingleton<IChannelFeedbackStore, Feedback.ChannelFeedbackStore>();
        // One holder per process: jobs that must not run on every node at once take a lease in the store first.
        services.AddSingleton(sp => new Nodes.JobLeases(sp.GetRequiredService<IDbContextFactory<ChatDbContext>>(), sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService<RetentionService>();
        services.AddSingleton(sp => new ErasureFeed(sp.GetRequiredService<IDbContextFactory<ChatDbContext>>(),
            sp.GetServices<ChatPlatform.Core.Privacy.IConversationForgetter>(), sp.GetRequiredService<TimeProvider>(),
            TimeSpan.FromSeconds(sp.GetRequiredService<RetentionOptions>().ErasureCheckSeconds), sp.GetRequiredService<ILogger<ErasureFeed>>()));
        services.AddHostedService(sp => sp.GetRequiredService<ErasureFeed>());
        if (database.IsPostgres)
        {
            // Nodes sharing the database tell each other of new activity; one node alone has no one to tell.
            services.AddSingleton(sp => new Notifications.PostgresNotifications(sp.GetRequiredService<DatabaseOptions>().ConnectionString!,
                sp.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>(), sp.GetRequiredService<ILogger<Notifications.PostgresNotifications>>()));
            services.AddHostedService(sp => sp.GetRequiredService<Notifications.PostgresNotifications>());
            services.AddSingleton<ChatPlatform.Core.Nodes.INodeNotifications>(sp => sp.GetRequiredService<Notifications.PostgresNotifications>());
        }
        services.AddSingleton<IApiKeyStore, EfApiKeyStore>();
        services.AddSingleton<ApiKeys>();
        services.AddSingleton<Conversations.ConversationQueries>();
        services.AddSingleton<Channels.ChannelBindings>();
        services.AddSingleton<IChannelBindingLookup>(sp => sp.GetRequiredService<Channels.ChannelBindings>());
        services.AddSingleton<Dashboard.DashboardQueries>();
        services.TryAddSingleton(new SafetyReviewOptions());
        services.AddSingleton<SafetyReview>();
        return services;
    }

    /// <summary>Brings the database to the current schema; see <see cref="ChatDatabase.MigrateAsync"/>.</summary>
    public static Task MigrateChatDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default) =>
        ChatDatabase.MigrateAsync(services.GetRequiredService<IDbContextFactory<ChatDbContext>>(), cancellationToken);
}
