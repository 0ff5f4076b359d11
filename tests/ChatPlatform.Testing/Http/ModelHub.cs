using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;

namespace ChatPlatform.Testing.Http;

/// <summary>
/// A Hugging Face-style file server for <see cref="TestHttpServer"/>: files at <c>/{repo}/resolve/{revision}/{file}</c>,
/// with <c>X-Linked-ETag</c> (the SHA-256), <c>Accept-Ranges</c> and HTTP Range support, plus faults a test can switch on.
/// </summary>
public sealed class ModelHub
{
    private readonly Dictionary<string, byte[]> _files = new(StringComparer.Ordinal);
    private int _interruptions;

    /// <summary>Serve <paramref name="bytes"/> at <c>/{repo}/resolve/{revision}/{file}</c>.</summary>
    public void Add(string repo, string file, byte[] bytes, string revision = "main") =>
        _files[$"/{repo}/resolve/{revision}/{file}"] = bytes;

    /// <summary>The next this many downloads stop after <see cref="InterruptAfterBytes"/> bytes (connection aborted).</summary>
    public int Interruptions
    {
        get => Volatile.Read(ref _interruptions);
        set => Volatile.Write(ref _interruptions, value);
    }

    public long InterruptAfterBytes { get; set; } = 4096;

    /// <summary>Ignore Range headers and always send the whole file with 200, like some servers do.</summary>
    public bool IgnoreRanges { get; set; }

    /// <summary>Send bytes different from the file while advertising the file's SHA-256.</summary>
    public bool Corrupt { get; set; }

    /// <summary>When set, requests without <c>Authorization: Bearer {token}</c> get 401.</summary>
    public string? RequiredToken { get; set; }

    public static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public async Task HandleAsync(HttpContext context, RecordedRequest request)
    {
        var response = context.Response;
        if (RequiredToken is not null && request.Header("Authorization") != "Bearer " + RequiredToken)
        {
            response.StatusCode = StatusCodes.Status401Unauthorized;
            await response.WriteAsync("""{"error":"Invalid credentials in Authorization header"}""", context.RequestAborted);
            return;
        }
        if (!_files.TryGetValue(context.Request.Path.Value ?? "", out var file))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            response.Headers["X-Error-Code"] = "EntryNotFound";
            await response.WriteAsync("""{"error":"Entry not found"}""", context.RequestAborted);
            return;
        }

        var bytes = file;
        if (Corrupt)
        {
            bytes = (byte[])file.Clone();
            for (var i = bytes.Length / 2; i < bytes.Length / 2 + 16; i++) bytes[i] ^= 0x5A;
        }

        response.Headers["X-Linked-ETag"] = $"\"{Sha256Hex(file)}\"";
        response.Headers["X-Linked-Size"] = file.Length.ToString(CultureInfo.InvariantCulture);
        response.Headers.AcceptRanges = "bytes";
        long start = 0;
        if (!IgnoreRanges && request.Header("Range") is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            start = long.Parse(range[6..^1], CultureInfo.InvariantCulture);
            if (start >= bytes.Length)
            {
                response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                response.Headers.ContentRange = $"bytes */{bytes.Length}";
                return;
            }
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = $"bytes {start}-{bytes.Length - 1}/{bytes.Length}";
        }
        response.ContentLength = bytes.Length - start;
        response.ContentType = "application/octet-stream";

        var interrupt = Interlocked.Decrement(ref _interruptions) >= 0;
        if (!interrupt) Interlocked.Exchange(ref _interruptions, 0);
        var count = interrupt ? (int)Math.Min(InterruptAfterBytes, bytes.Length - start) : (int)(bytes.Length - start);
        await response.Body.WriteAsync(bytes.AsMemory((int)start, count), context.RequestAborted);
        if (interrupt)
        {
            await response.Body.FlushAsync(context.RequestAborted);
            await OpenAiResponses.AbortAfterDeliveryAsync(context);
        }
    }
}
