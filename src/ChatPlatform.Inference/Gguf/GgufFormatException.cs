namespace ChatPlatform.Inference.Gguf;

/// <summary>Thrown when a file is not a well-formed GGUF file; the message names what is wrong.</summary>
public sealed class GgufFormatException : Exception
{
    public GgufFormatException()
    {
    }

    public GgufFormatException(string message)
        : base(message)
    {
    }

    public GgufFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public GgufFormatException(string message, string? filePath)
        : base(message) => FilePath = filePath;

    /// <summary>The file that was being read, when known.</summary>
    public string? FilePath { get; }
}
