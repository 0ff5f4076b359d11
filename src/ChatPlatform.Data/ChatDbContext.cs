using ChatPlatform.Data.Conversations;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Data;

/// <summary>The platform's store: conversations and their messages.</summary>
public sealed class ChatDbContext(DbContextOptions<ChatDbContext> options) : DbContext(options)
{
    public DbSet<ConversationRecord> Conversations => Set<ConversationRecord>();
    public DbSet<MessageRecord> Messages => Set<MessageRecord>();

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
            e.Property(c => c.Flags).HasMaxLength(256);
            e.HasIndex(c => new { c.Channel, c.ExternalId }).IsUnique();
            e.HasIndex(c => c.UserId);
        });
        modelBuilder.Entity<MessageRecord>(e =>
        {
            e.ToTable("messages");
            e.HasKey(m => m.Id);
            e.Property(m => m.Role).HasMaxLength(16).IsRequired();
            e.Property(m => m.Text).IsRequired();
            e.Property(m => m.Model).HasMaxLength(200);
            e.Property(m => m.FinishReason).HasMaxLength(32);
            e.HasOne<ConversationRecord>().WithMany().HasForeignKey(m => m.ConversationId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(m => new { m.ConversationId, m.Sequence }).IsUnique();
        });
    }
}
