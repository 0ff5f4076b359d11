using ChatPlatform.Data.Admin;
using ChatPlatform.Data.Audit;
using ChatPlatform.Data.Channels;
using ChatPlatform.Data.Conversations;
using ChatPlatform.Data.Feedback;
using ChatPlatform.Data.Knowledge;
using ChatPlatform.Data.Nodes;
using ChatPlatform.Data.Personas;
using ChatPlatform.Data.Safety;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace ChatPlatform.Data;

/// <summary>
/// The platform's store. This type runs on SQLite (its migrations live in <c>Migrations/Sqlite</c>);
/// <see cref="PostgresChatDbContext"/> is the same model on PostgreSQL with its own migrations.
/// </summary>
public class ChatDbContext : DbContext
{
    public ChatDbContext(DbContextOptions<ChatDbContext> options) : base(options) { }

    protected ChatDbContext(DbContextOptions options) : base(options) { }

    public DbSet<ConversationRecord> Conversations => Set<ConversationRecord>();
    public DbSet<MessageRecord> Messages => Set<MessageRecord>();
    public DbSet<PersonaRecord> Personas => Set<PersonaRecord>();
    public DbSet<PersonaVersionRecord> PersonaVersions => Set<PersonaVersionRecord>();
    public DbSet<SafetyEventRecord> SafetyEvents => Set<SafetyEventRecord>();
    public DbSet<FeedbackRecord> Feedback => Set<FeedbackRecord>();
    public DbSet<AdminAccountRecord> AdminAccounts => Set<AdminAccountRecord>();
    public DbSet<AdminRoleAssignmentRecord> AdminRoles => Set<AdminRoleAssignmentRecord>();
    public DbSet<ApiClientRecord> ApiClients => Set<ApiClientRecord>();
    public DbSet<ChannelBindingRecord> ChannelBindings => Set<ChannelBindingRecord>();
    public DbSet<AuditEntry> AuditLog => Set<AuditEntry>();
    public DbSet<KnowledgeDocumentRecord> KnowledgeDocuments => Set<KnowledgeDocumentRecord>();
    public DbSet<KnowledgeChunkRecord> KnowledgeChunks => Set<KnowledgeChunkRecord>();
    public DbSet<CuratedAnswerRecord> CuratedAnswers => Set<CuratedAnswerRecord>();
    public DbSet<DeliveryRecord> Deliveries => Set<DeliveryRecord>();
    public DbSet<JobLeaseRecord> JobLeases => Set<JobLeaseRecord>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite has no date type: instants are stored as UTC ticks so they sort and compare in SQL (retention needs both).
        if (StoresInstantsAsTicks)
            configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
    }

    /// <summary>True for SQLite, which has no native timestamp type.</summary>
    protected virtual bool StoresInstantsAsTicks => true;

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<ConversationRecord>(e =>
        {
            e.ToTable("conversations");
            e.HasKey(c => c.Id);
            e.Property(c => c.Channel).HasMaxLength(32).IsRequired();
            e.Property(c => c.ExternalId).HasMaxLength(128).IsRequired();
            e.Property(c => c.PersonaId).HasMaxLength(48).IsRequired();
            e.Property(c => c.Locale).HasMaxLength(16).IsRequired();
            e.Property(c => c.UserId).HasMaxLength(128);
            e.Property(c => c.State).HasMaxLength(16).IsRequired();
            e.HasIndex(c => new { c.Channel, c.ExternalId }).IsUnique();
            e.HasIndex(c => c.UserId);
            e.HasIndex(c => new { c.PersonaId, c.UpdatedAt });
        });
        modelBuilder.Entity<MessageRecord>(e =>
        {
            e.ToTable("messages");
            e.HasKey(m => m.Id);
            e.Property(m => m.Role).HasMaxLength(16).IsRequired();
            e.Property(m => m.Text).IsRequired();
            e.Property(m => m.Model).HasMaxLength(200);
            e.Property(m => m.Adapter).HasMaxLength(200);
            e.Property(m => m.FinishReason).HasMaxLength(32);
            e.Property(m => m.SafetyVerdicts).HasMaxLength(500);
            e.HasOne<ConversationRecord>().WithMany().HasForeignKey(m => m.ConversationId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(m => new { m.ConversationId, m.Sequence }).IsUnique();
        });
        modelBuilder.Entity<PersonaRecord>(e =>
        {
            e.ToTable("personas");
            e.HasKey(p => p.Id);
            e.Property(p => p.Id).HasMaxLength(48);
            e.Property(p => p.DisplayName).HasMaxLength(200).IsRequired();
            e.HasMany(p => p.Versions).WithOne().HasForeignKey(v => v.PersonaId).OnDelete(DeleteBehavior.Restrict);
        });
        modelBuilder.Entity<PersonaVersionRecord>(e =>
        {
            e.ToTable("persona_versions");
            e.HasKey(v => v.Id);
            e.Property(v => v.PersonaId).HasMaxLength(48);
            e.Property(v => v.Status).HasMaxLength(16).IsRequired();
            e.Property(v => v.Content).IsRequired();
            e.Property(v => v.ContentHash).HasMaxLength(64).IsRequired();
            e.Property(v => v.Author).HasMaxLength(128).IsRequired();
            e.Property(v => v.Note).HasMaxLength(2000);
            e.HasIndex(v => new { v.PersonaId, v.Number }).IsUnique();
            e.HasIndex(v => new { v.PersonaId, v.Status });
        });
        modelBuilder.Entity<SafetyEventRecord>(e =>
        {
            e.ToTable("safety_events");
            e.HasKey(s => s.Id);
            e.Property(s => s.Channel).HasMaxLength(32).IsRequired();
            e.Property(s => s.ExternalConversationId).HasMaxLength(128);
            e.Property(s => s.Persona).HasMaxLength(48).IsRequired();
            e.Property(s => s.Rail).HasMaxLength(64).IsRequired();
            e.Property(s => s.Severity).HasMaxLength(16).IsRequired();
            e.Property(s => s.Action).HasMaxLength(64).IsRequired();
            e.Property(s => s.Excerpt).HasMaxLength(2000);
            e.Property(s => s.ReviewState).HasMaxLength(16).IsRequired();
            e.Property(s => s.Reviewer).HasMaxLength(128);
            e.Property(s => s.ReviewNote).HasMaxLength(2000);
            e.HasOne<ConversationRecord>().WithMany().HasForeignKey(s => s.ConversationId).OnDelete(DeleteBehavior.SetNull);
            e.HasIndex(s => new { s.ReviewState, s.At });
            e.HasIndex(s => s.At);
        });
        modelBuilder.Entity<FeedbackRecord>(e =>
        {
            e.ToTable("feedback");
            e.HasKey(f => f.Id);
            e.Property(f => f.Comment).HasMaxLength(4000);
            e.HasOne<ConversationRecord>().WithMany().HasForeignKey(f => f.ConversationId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<MessageRecord>().WithMany().HasForeignKey(f => f.MessageId).OnDelete(DeleteBehavior.Cascade);
        });
        modelBuilder.Entity<AdminAccountRecord>(e =>
        {
            e.ToTable("admin_accounts");
            e.HasKey(a => a.Id);
            e.Property(a => a.UserName).HasMaxLength(128).IsRequired();
            e.Property(a => a.DisplayName).HasMaxLength(200);
            e.Property(a => a.PasswordHash).HasMaxLength(500);
            e.Property(a => a.SecurityStamp).HasMaxLength(64).IsRequired();
            e.HasIndex(a => a.UserName).IsUnique();
            e.HasMany(a => a.Roles).WithOne().HasForeignKey(r => r.AccountId).OnDelete(DeleteBehavior.Cascade);
        });
        modelBuilder.Entity<AdminRoleAssignmentRecord>(e =>
        {
            e.ToTable("admin_roles");
            e.HasKey(r => new { r.AccountId, r.Role });
            e.Property(r => r.Role).HasMaxLength(32);
            e.Property(r => r.GrantedBy).HasMaxLength(128);
        });
        modelBuilder.Entity<ApiClientRecord>(e =>
        {
            e.ToTable("api_clients");
            e.HasKey(c => c.Id);
            e.Property(c => c.Name).HasMaxLength(128).IsRequired();
            e.Property(c => c.KeyPrefix).HasMaxLength(16).IsRequired();
            e.Property(c => c.KeyHash).HasMaxLength(64).IsRequired();
            e.Property(c => c.Scopes).HasMaxLength(500).IsRequired();
            e.HasIndex(c => c.KeyHash).IsUnique();
            e.HasIndex(c => c.Name).IsUnique();
        });
        modelBuilder.Entity<ChannelBindingRecord>(e =>
        {
            e.ToTable("channel_bindings");
            e.HasKey(b => b.Id);
            e.Property(b => b.Channel).HasMaxLength(32).IsRequired();
            e.Property(b => b.EndpointId).HasMaxLength(200).IsRequired();
            e.Property(b => b.PersonaId).HasMaxLength(48).IsRequired();
            e.Property(b => b.Locale).HasMaxLength(16);
            e.HasIndex(b => new { b.Channel, b.EndpointId }).IsUnique();
        });
        modelBuilder.Entity<AuditEntry>(e =>
        {
            e.ToTable("audit_log");
            e.HasKey(a => a.Id);
            e.Property(a => a.Actor).HasMaxLength(128).IsRequired();
            e.Property(a => a.Action).HasMaxLength(64).IsRequired();
            e.Property(a => a.Target).HasMaxLength(200).IsRequired();
            e.HasIndex(a => a.At);
        });
        modelBuilder.Entity<KnowledgeDocumentRecord>(e =>
        {
            e.ToTable("knowledge_documents");
            e.HasKey(d => d.Id);
            e.Property(d => d.PersonaId).HasMaxLength(48).IsRequired();
            e.Property(d => d.Source).HasMaxLength(400).IsRequired();
            e.Property(d => d.Title).HasMaxLength(400).IsRequired();
            e.Property(d => d.Format).HasMaxLength(16).IsRequired();
            e.Property(d => d.ContentHash).HasMaxLength(64).IsRequired();
            e.Property(d => d.Origin).HasMaxLength(16).IsRequired();
            e.Property(d => d.Link).HasMaxLength(2000);
            e.HasIndex(d => new { d.PersonaId, d.Source }).IsUnique();
            e.HasMany(d => d.Chunks).WithOne().HasForeignKey(c => c.DocumentId).OnDelete(DeleteBehavior.Cascade);
        });
        modelBuilder.Entity<KnowledgeChunkRecord>(e =>
        {
            e.ToTable("knowledge_chunks");
            e.HasKey(c => c.Id);
            e.Property(c => c.Key).HasMaxLength(600).IsRequired();
            e.Property(c => c.Section).HasMaxLength(1000).IsRequired();
            e.Property(c => c.Text).IsRequired();
            e.HasIndex(c => new { c.DocumentId, c.Ordinal }).IsUnique();
        });
        modelBuilder.Entity<CuratedAnswerRecord>(e =>
        {
            e.ToTable("curated_answers");
            e.HasKey(a => a.Id);
            e.Property(a => a.PersonaId).HasMaxLength(48).IsRequired();
            e.Property(a => a.Key).HasMaxLength(200).IsRequired();
            e.Property(a => a.Question).HasMaxLength(2000).IsRequired();
            e.Property(a => a.Answer).IsRequired();
            e.Property(a => a.Locale).HasMaxLength(16);
            e.Property(a => a.Author).HasMaxLength(128).IsRequired();
            e.HasIndex(a => new { a.PersonaId, a.Key }).IsUnique();
        });
        modelBuilder.Entity<DeliveryRecord>(e =>
        {
            e.ToTable("channel_deliveries");
            e.HasKey(d => new { d.Channel, d.DeliveryId });
            e.Property(d => d.Channel).HasMaxLength(DeliveryLog.MaxChannelLength);
            e.Property(d => d.DeliveryId).HasMaxLength(DeliveryLog.MaxIdLength);
            e.HasIndex(d => d.ReceivedAt);
        });
        modelBuilder.Entity<JobLeaseRecord>(e =>
        {
            e.ToTable("job_leases");
            e.HasKey(l => l.Name);
            e.Property(l => l.Name).HasMaxLength(Nodes.JobLeases.MaxNameLength);
            e.Property(l => l.Holder).HasMaxLength(Nodes.JobLeases.MaxHolderLength).IsRequired();
        });
    }

    public override int SaveChanges(bool acceptAllChangesOnSuccess)
    {
        RefuseAuditChanges();
        return base.SaveChanges(acceptAllChangesOnSuccess);
    }

    public override Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        RefuseAuditChanges();
        return base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
    }

    /// <summary>The audit log is append-only: an edited or deleted entry fails the whole save.</summary>
    private void RefuseAuditChanges()
    {
        foreach (EntityEntry<AuditEntry> entry in ChangeTracker.Entries<AuditEntry>())
        {
            if (entry.State is EntityState.Modified or EntityState.Deleted)
                throw new InvalidOperationException($"The audit log is append-only: entry {entry.Entity.Id} cannot be {(entry.State == EntityState.Deleted ? "deleted" : "changed")}.");
        }
    }
}

/// <summary>The same model on PostgreSQL, with its own migrations in <c>Migrations/Postgres</c>.</summary>
public sealed class PostgresChatDbContext(DbContextOptions<PostgresChatDbContext> options) : ChatDbContext(options)
{
    protected override bool StoresInstantsAsTicks => false;
}
