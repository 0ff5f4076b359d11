using ChatPlatform.Data.Conversations;

namespace ChatPlatform.Admin.Operations;

/// <summary>The conversation filter as the page's inputs hold it; <see cref="ToFilter"/> turns it into a query.</summary>
public sealed class ConversationSearchForm
{
    public string? Persona { get; set; }
    public string? Channel { get; set; }
    public ConversationMark? Flag { get; set; }
    public string? UserId { get; set; }

    /// <summary>First day of the range (a calendar day, read as UTC).</summary>
    public DateTime? FromDay { get; set; }

    /// <summary>Last day of the range, included whole.</summary>
    public DateTime? ToDay { get; set; }

    public ConversationFilter ToFilter(int page, int pageSize) => new(
        Persona: Blank(Persona),
        Channel: Blank(Channel),
        From: FromDay is { } from ? new DateTimeOffset(from.Date, TimeSpan.Zero) : null,
        To: ToDay is { } to ? new DateTimeOffset(to.Date, TimeSpan.Zero).AddDays(1).AddTicks(-1) : null,
        Flag: Flag,
        UserId: Blank(UserId?.Trim()),
        Page: page,
        PageSize: pageSize);

    /// <summary>What is wrong with the inputs, or null.</summary>
    public string? Problem => FromDay is { } f && ToDay is { } t && f.Date > t.Date ? "The date range ends before it starts." : null;

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
