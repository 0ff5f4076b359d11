namespace ChatPlatform.Channels.DirectLine;

/// <summary>
/// The <c>ChatPlatform:DirectLine</c> section: the Direct Line 3.0 endpoint under <c>/v3/directline</c> and the
/// embeddable widget.
/// </summary>
public sealed class DirectLineOptions
{
    public const string SectionName = "ChatPlatform:DirectLine";

    /// <summary>
    /// Direct Line secrets a site's backend may use as <c>Authorization: Bearer SECRET</c> on
    /// <c>/tokens/generate</c> and <c>/conversations</c>. Empty: only tokens (from the widget route) are accepted.
    /// </summary>
    public IReadOnlyList<string> Secrets { get; set; } = [];

    /// <summary>
    /// Key that signs tokens (32 or more characters). Empty: a random key is created once and kept in
    /// <c>directline-token.key</c> in the data folder, so tokens survive restarts. Several nodes must share one key.
    /// </summary>
    public string TokenSigningKey { get; set; } = "";

    /// <summary>How long a token is valid; clients refresh at half of it.</summary>
    public int TokenLifetimeSeconds { get; set; } = 1800;

    /// <summary>Persona for conversations started with a secret and no <c>persona</c>; empty: the first pack.</summary>
    public string Persona { get; set; } = "";

    /// <summary>
    /// Web origins (e.g. <c>https://www.example.edu</c>) whose pages may embed the widget and call Direct Line from
    /// the browser (CORS). <c>*</c> allows every origin. The server's own pages need no entry.
    /// </summary>
    public IReadOnlyList<string> AllowedOrigins { get; set; } = [];

    /// <summary><c>POST /api/widget/token</c> hands out tokens to any page; false turns the widget off.</summary>
    public bool WidgetEnabled { get; set; } = true;

    /// <summary>Messages one conversation may send per minute (the per-user limit); 0 turns it off.</summary>
    public int MessagesPerMinute { get; set; } = 20;

    /// <summary>Largest activity body accepted, in bytes (the text limit is <c>ChatPlatform:MaxMessageChars</c>).</summary>
    public int MaxActivityBytes { get; set; } = 64 * 1024;

    /// <summary>Seconds between livestreaming updates of a reply on the WebSocket stream.</summary>
    public double StreamUpdateSeconds { get; set; } = 0.25;

    /// <summary>
    /// Activities each conversation keeps in memory for replay; older ones are dropped (the store keeps the messages,
    /// and a conversation rebuilt from it replays them).
    /// </summary>
    public int MaxActivitiesPerConversation { get; set; } = 200;

    /// <summary>
    /// Conversations held in memory on this node; beyond it the least recently used idle ones are dropped and rebuilt
    /// from the store when their client comes back.
    /// </summary>
    public int MaxConversationsInMemory { get; set; } = 5000;

    /// <summary>
    /// Several nodes on PostgreSQL: while a node cannot listen for the others' notices (<c>LISTEN</c>/<c>NOTIFY</c>),
    /// it reads the conversations in use from the store this often, in seconds, and before every
    /// <c>GET …/activities</c>. Unused with SQLite (one node).
    /// </summary>
    public double SyncSeconds { get; set; } = 2;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (TokenLifetimeSeconds is < 60 or > 86_400)
            errors.Add($"{SectionName}:TokenLifetimeSeconds must be between 60 and 86400 (got {TokenLifetimeSeconds})");
        if (TokenSigningKey.Length is > 0 and < 32)
            errors.Add($"{SectionName}:TokenSigningKey must have at least 32 characters (got {TokenSigningKey.Length}); leave it empty to use a generated key");
        for (var i = 0; i < Secrets.Count; i++)
            if (Secrets[i].Length < 16)
                errors.Add($"{SectionName}:Secrets:{i} must have at least 16 characters");
        if (MessagesPerMinute < 0)
            errors.Add($"{SectionName}:MessagesPerMinute must be 0 (off) or more (got {MessagesPerMinute})");
        if (MaxActivityBytes is < 1024 or > 4 * 1024 * 1024)
            errors.Add($"{SectionName}:MaxActivityBytes must be between 1024 and 4194304 (got {MaxActivityBytes})");
        if (MaxActivitiesPerConversation is < 10 or > 10_000)
            errors.Add($"{SectionName}:MaxActivitiesPerConversation must be between 10 and 10000 (got {MaxActivitiesPerConversation})");
        if (MaxConversationsInMemory is < 10 or > 1_000_000)
            errors.Add($"{SectionName}:MaxConversationsInMemory must be between 10 and 1000000 (got {MaxConversationsInMemory})");
        if (SyncSeconds is < 0.1 or > 60)
            errors.Add($"{SectionName}:SyncSeconds must be between 0.1 and 60 (got {SyncSeconds})");
        if (StreamUpdateSeconds is < 0 or > 10)
            errors.Add($"{SectionName}:StreamUpdateSeconds must be between 0 and 10 (got {StreamUpdateSeconds})");
        foreach (var origin in AllowedOrigins)
            if (origin != "*" && !(Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.AbsolutePath == "/" && uri.Scheme is "http" or "https"))
                errors.Add($"{SectionName}:AllowedOrigins has '{origin}': each entry must be '*' or an origin such as https://www.example.edu (scheme and host, no path)");
        return errors;
    }
}
