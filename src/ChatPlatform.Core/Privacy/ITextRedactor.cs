namespace ChatPlatform.Core.Privacy;

/// <summary>
/// Removes personal data (e-mail addresses, phone and identity numbers…) from text before it reaches the model,
/// the store or a log, as a persona's policy asks.
/// </summary>
public interface ITextRedactor
{
    /// <summary>The text with personal data replaced by placeholders such as <c>[EMAIL]</c>.</summary>
    string Redact(string text);
}

/// <summary>Leaves text unchanged: the default until a persona's policy asks for redaction and a redactor is registered.</summary>
public sealed class IdentityRedactor : ITextRedactor
{
    public static readonly IdentityRedactor Instance = new();

    public string Redact(string text) => text;
}
