using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Personas;
using ChatPlatform.Data.Audit;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Data.Channels;

/// <summary>A binding as the console edits it: which persona answers on a Slack workspace or a Teams tenant.</summary>
public sealed record ChannelBinding(long Id, string Channel, string EndpointId, string PersonaId, string? Locale, bool Enabled, DateTimeOffset UpdatedAt);

/// <summary>Lists, adds, changes and removes channel bindings; each change is checked, then audited in the same save.</summary>
public sealed class ChannelBindings(IDbContextFactory<ChatDbContext> contexts, IPersonaCatalog personas, TimeProvider time) : IChannelBindingLookup
{
    /// <summary>The channels a binding can name, with what their endpoint id is.</summary>
    public static readonly IReadOnlyDictionary<string, string> Channels = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["slack"] = "Slack team id (T…)",
        ["teams"] = "Microsoft Teams tenant id",
        ["botframework"] = "Bot Framework app id",
        ["web"] = "web widget site id",
    };

    public const int MaxEndpointLength = 200;

    public async Task<IReadOnlyList<ChannelBinding>> ListAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var rows = await db.ChannelBindings.AsNoTracking().OrderBy(b => b.Channel).ThenBy(b => b.EndpointId).ToListAsync(cancellationToken);
        return [.. rows.Select(b => new ChannelBinding(b.Id, b.Channel, b.EndpointId, b.PersonaId, b.Locale, b.Enabled, b.UpdatedAt))];
    }

    /// <summary>What is wrong with a binding, or null when it can be saved.</summary>
    public string? Problem(string? channel, string? endpointId, string? personaId, string? locale)
    {
        if (string.IsNullOrWhiteSpace(channel) || !Channels.ContainsKey(channel))
            return $"The channel '{channel}' is not one of {string.Join(", ", Channels.Keys)}.";
        if (string.IsNullOrWhiteSpace(endpointId) || endpointId.Length > MaxEndpointLength || endpointId.Any(char.IsControl) || endpointId.Trim() != endpointId)
            return $"The {Channels[channel]} must be 1 to {MaxEndpointLength} printable characters without surrounding spaces.";
        if (string.IsNullOrWhiteSpace(personaId) || personas.Find(personaId) is not { } pack)
            return $"The persona '{personaId}' does not exist. Available: {string.Join(", ", personas.All.Select(p => p.Id))}.";
        if (!string.IsNullOrEmpty(locale) && !pack.Locales.Contains(locale))
            return $"The persona '{personaId}' has no locale '{locale}' (it has {string.Join(", ", pack.Locales)}).";
        return null;
    }

    /// <summary>Adds a binding; throws <see cref="ArgumentException"/> naming what is wrong, or <see cref="InvalidOperationException"/> when the endpoint is bound already.</summary>
    public async Task<ChannelBinding> AddAsync(string channel, string endpointId, string personaId, string? locale, string actor, CancellationToken cancellationToken)
    {
        if (Problem(channel, endpointId, personaId, locale) is { } problem) throw new ArgumentException(problem);
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (await db.ChannelBindings.AnyAsync(b => b.Channel == channel && b.EndpointId == endpointId, cancellationToken))
            throw new InvalidOperationException($"The {Channels[channel]} '{endpointId}' is bound already; change that binding instead.");
        var now = time.GetUtcNow();
        var row = new ChannelBindingRecord
        {
            Channel = channel, EndpointId = endpointId, PersonaId = personaId, Locale = string.IsNullOrEmpty(locale) ? null : locale,
            CreatedAt = now, UpdatedAt = now,
        };
        db.ChannelBindings.Add(row);
        AuditLog.Add(db, now, actor, "binding.create", $"binding:{channel}:{endpointId}", new { persona = personaId, locale });
        await db.SaveChangesAsync(cancellationToken);
        return new ChannelBinding(row.Id, row.Channel, row.EndpointId, row.PersonaId, row.Locale, row.Enabled, row.UpdatedAt);
    }

    /// <summary>Points a binding at another persona or locale, or switches it on or off; false when it does not exist.</summary>
    public async Task<bool> UpdateAsync(long id, string personaId, string? locale, bool enabled, string actor, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var row = await db.ChannelBindings.FirstOrDefaultAsync(b => b.Id == id, cancellationToken);
        if (row is null) return false;
        if (Problem(row.Channel, row.EndpointId, personaId, locale) is { } problem) throw new ArgumentException(problem);
        var now = time.GetUtcNow();
        AuditLog.Add(db, now, actor, "binding.update", $"binding:{row.Channel}:{row.EndpointId}",
            new { from = row.PersonaId, persona = personaId, locale, enabled });
        row.PersonaId = personaId;
        row.Locale = string.IsNullOrEmpty(locale) ? null : locale;
        row.Enabled = enabled;
        row.UpdatedAt = now;
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    public async Task<bool> RemoveAsync(long id, string actor, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var row = await db.ChannelBindings.FirstOrDefaultAsync(b => b.Id == id, cancellationToken);
        if (row is null) return false;
        db.ChannelBindings.Remove(row);
        AuditLog.Add(db, time.GetUtcNow(), actor, "binding.delete", $"binding:{row.Channel}:{row.EndpointId}", new { persona = row.PersonaId });
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    /// <summary>The persona (and locale) bound to an endpoint, or null when none is bound or the binding is off.</summary>
    public async Task<ChannelBinding?> FindAsync(string channel, string endpointId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var b = await db.ChannelBindings.AsNoTracking().FirstOrDefaultAsync(b => b.Channel == channel && b.EndpointId == endpointId && b.Enabled, cancellationToken);
        return b is null ? null : new ChannelBinding(b.Id, b.Channel, b.EndpointId, b.PersonaId, b.Locale, b.Enabled, b.UpdatedAt);
    }

    public async Task<BoundPersona?> FindPersonaAsync(string channel, string endpointId, CancellationToken cancellationToken) =>
        await FindAsync(channel, endpointId, cancellationToken) is { } b ? new BoundPersona(b.PersonaId, b.Locale) : null;
}
