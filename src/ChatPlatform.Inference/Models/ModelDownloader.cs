using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using ChatPlatform.Inference.Gguf;

namespace ChatPlatform.Inference.Models;

/// <summary>What to download: <c>{hub}/{Repo}/resolve/{Revision}/{File}</c> into <see cref="OutputDirectory"/>.</summary>
public sealed record ModelPullRequest(string Repo, string File, string OutputDirectory, string Revision = "main", string? Sha256 = null);

/// <summary>Bytes on disk so far (including a resumed part), the full size when known, and the current speed.</summary>
public sealed record DownloadProgress(long Received, long? Total, double BytesPerSecond);

/// <summary>A verified, installed model file.</summary>
/// <param name="Sha256">The file's SHA-256 (lower-case hex).</param>
/// <param name="Verified">Whether it matched an expected SHA-256 (from <c>--sha256</c> or the server).</param>
/// <param name="ResumedFrom">Bytes already on disk from an interrupted download; 0 when it started from scratch.</param>
/// <param name="AlreadyPresent">The file was there before; nothing was downloaded.</param>
public sealed record ModelPullResult(string Path, long Length, string Sha256, bool Verified, long ResumedFrom, bool AlreadyPresent, GgufModelInfo Info);

/// <summary>A download that cannot complete; the message is one line that says what to do.</summary>
public sealed class ModelPullException : Exception
{
    public ModelPullException() { }

    public ModelPullException(string message) : base(message) { }

    public ModelPullException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>
/// Downloads GGUF files from a Hugging Face-style hub. The file is written to <c>NAME.partial</c> next to its final
/// place; an interrupted download keeps it and the next run resumes with an HTTP <c>Range</c> request (a server that
/// answers 200 instead of 206 restarts it). The result is checked against the expected SHA-256 (given, or the
/// server's <c>X-Linked-ETag</c>/<c>ETag</c> when that is one) and read as GGUF before it is renamed into place,
/// so a half-written or corrupt file is never installed; a corrupt one is deleted.
/// </summary>
public sealed class ModelDownloader(HttpClient http, Uri hubUrl, string? token = null, TimeSpan? idleTimeout = null)
{
    private const int MaxRedirects = 8;
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(200);
    private readonly TimeSpan _idleTimeout = idleTimeout ?? TimeSpan.FromSeconds(60);

    /// <summary>An <see cref="HttpClient"/> for the downloader: redirects are followed by the downloader itself, so it can
    /// read the hub's headers and keep the token off other hosts (the CDN a hub redirects to).</summary>
    public static HttpClient CreateHttpClient() => new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        ConnectTimeout = TimeSpan.FromSeconds(30),
        AutomaticDecompression = DecompressionMethods.None,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    /// <summary><c>{hub}/{repo}/resolve/{revision}/{file}</c>, each path segment escaped.</summary>
    public static Uri FileUri(Uri hub, string repo, string revision, string file)
    {
        static string Escape(string path) => string.Join('/', path.Split('/').Select(Uri.EscapeDataString));
        var root = hub.AbsoluteUri.TrimEnd('/');
        return new Uri($"{root}/{Escape(repo)}/resolve/{Uri.EscapeDataString(revision)}/{Escape(file)}");
    }

    public async Task<ModelPullResult> PullAsync(ModelPullRequest request, IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        Check(request);
        var expected = request.Sha256?.ToLowerInvariant();
        var uri = FileUri(hubUrl, request.Repo, request.Revision, request.File);
        Directory.CreateDirectory(request.OutputDirectory);
        var target = Path.Combine(Path.GetFullPath(request.OutputDirectory), Path.GetFileName(request.File));
        var partial = target + ".partial";

        if (File.Exists(target))
            return await ExistingAsync(target, expected, cancellationToken);

        for (var restart = 0; ; restart++)
        {
            var existing = File.Exists(partial) ? new FileInfo(partial).Length : 0;
            var (response, linkedHash) = await SendAsync(uri, existing, request, cancellationToken);
            using (response)
            {
                long offset;
                long? total;
                switch (response.StatusCode)
                {
                    case HttpStatusCode.OK:
                        offset = 0;
                        total = response.Content.Headers.ContentLength;
                        break;
                    case HttpStatusCode.PartialContent:
                        var range = response.Content.Headers.ContentRange;
                        if (range?.From != existing)
                            throw new ModelPullException($"{uri}: the server resumed at byte {range?.From?.ToString(CultureInfo.InvariantCulture) ?? "?"} instead of {existing}; delete {partial} and run again.");
                        offset = existing;
                        total = range.Length;
                        break;
                    case HttpStatusCode.RequestedRangeNotSatisfiable when existing > 0:
                        if (response.Content.Headers.ContentRange?.Length == existing)
                            return await InstallAsync(partial, target, expected ?? linkedHash, existing, cancellationToken);
                        if (restart > 0) throw new ModelPullException($"{uri}: the server refuses to resume (HTTP 416) even from scratch.");
                        // The partial file is larger than the remote one: it belongs to another version. Start over.
                        File.Delete(partial);
                        continue;
                    default:
                        throw StatusError(response, uri, request);
                }
                expected ??= linkedHash;

                await DownloadAsync(response, partial, offset, total, progress, uri, cancellationToken);
                return await InstallAsync(partial, target, expected, offset, cancellationToken);
            }
        }
    }

    private static void Check(ModelPullRequest request)
    {
        var segments = request.Repo.Split('/');
        if (segments.Length != 2 || segments.Any(s => s.Length == 0 || s is "." or ".."))
            throw new ModelPullException($"'{request.Repo}' is not a repository name; expected OWNER/NAME, e.g. Qwen/Qwen2.5-1.5B-Instruct-GGUF.");
        if (request.File.Length == 0 || request.File.Split('/').Any(s => s.Length == 0 || s is "." or ".."))
            throw new ModelPullException($"'{request.File}' is not a file path in the repository, e.g. qwen2.5-1.5b-instruct-q4_k_m.gguf.");
        if (string.IsNullOrWhiteSpace(request.Revision) || request.Revision.Split('/').Any(s => s is "" or "." or ".."))
            throw new ModelPullException($"'{request.Revision}' is not a revision (a branch, tag or commit).");
        if (request.Sha256 is { } sha && !IsSha256(sha))
            throw new ModelPullException($"--sha256 must be 64 hexadecimal characters (got '{sha}').");
    }

    /// <summary>Sends the GET (with <c>Range</c> when resuming), following redirects; returns the final response and the hub's SHA-256, if it sent one.</summary>
    private async Task<(HttpResponseMessage Response, string? LinkedHash)> SendAsync(Uri uri, long existing, ModelPullRequest request, CancellationToken cancellationToken)
    {
        string? linkedHash = null;
        var current = uri;
        for (var hop = 0; ; hop++)
        {
            using var message = new HttpRequestMessage(HttpMethod.Get, current);
            if (existing > 0) message.Headers.Range = new RangeHeaderValue(existing, null);
            // The token goes to the hub only, never to a host it redirects to.
            if (!string.IsNullOrEmpty(token) && string.Equals(current.Authority, hubUrl.Authority, StringComparison.OrdinalIgnoreCase))
                message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);

            HttpResponseMessage response;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(_idleTimeout);
                try
                {
                    response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                }
                catch (HttpRequestException e)
                {
                    throw new ModelPullException($"{current.GetLeftPart(UriPartial.Authority)} cannot be reached: {e.Message}", e);
                }
                catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new ModelPullException($"{current.GetLeftPart(UriPartial.Authority)} did not answer within {_idleTimeout.TotalSeconds:0} s.", e);
                }
            }

            linkedHash ??= HashFromHeaders(response);
            var status = (int)response.StatusCode;
            if (status is >= 300 and < 400 && response.Headers.Location is { } location)
            {
                response.Dispose();
                if (hop >= MaxRedirects) throw new ModelPullException($"{uri}: too many redirects.");
                current = location.IsAbsoluteUri ? location : new Uri(current, location);
                continue;
            }
            return (response, linkedHash);
        }
    }

    /// <summary>The SHA-256 a hub publishes for LFS files: <c>X-Linked-ETag</c>, else <c>ETag</c>, when it is 64 hex digits.</summary>
    internal static string? HashFromHeaders(HttpResponseMessage response)
    {
        foreach (var name in new[] { "X-Linked-ETag", "ETag" })
        {
            if (!response.Headers.TryGetValues(name, out var values)) continue;
            var value = values.First().Trim();
            if (value.StartsWith("W/", StringComparison.Ordinal)) value = value[2..];
            value = value.Trim('"');
            if (IsSha256(value)) return value.ToLowerInvariant();
        }
        return null;
    }

    private static bool IsSha256(string value) => value.Length == 64 && value.All(char.IsAsciiHexDigit);

    private static ModelPullException StatusError(HttpResponseMessage response, Uri uri, ModelPullRequest request)
    {
        var status = (int)response.StatusCode;
        var said = response.Headers.TryGetValues("X-Error-Message", out var messages) ? $" ({messages.First()})" : "";
        return response.StatusCode switch
        {
            HttpStatusCode.NotFound => new ModelPullException(
                $"{request.File} was not found in {request.Repo} at revision {request.Revision} (HTTP 404 from {uri}){said}. Check the repository, file name and revision."),
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new ModelPullException(
                $"{uri} refused access (HTTP {status}){said}: the repository may be gated or private. Set ChatPlatform:Models:HubToken or HF_TOKEN to a token that has access."),
            _ => new ModelPullException($"{uri} answered HTTP {status} {response.ReasonPhrase}{said}."),
        };
    }

    private async Task DownloadAsync(HttpResponseMessage response, string partial, long offset, long? total, IProgress<DownloadProgress>? progress, Uri uri, CancellationToken cancellationToken)
    {
        var received = offset;
        var clock = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await using (var file = new FileStream(partial, offset == 0 ? FileMode.Create : FileMode.Append, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
        {
            var buffer = new byte[1 << 20];
            try
            {
                idle.CancelAfter(_idleTimeout);
                await using var body = await response.Content.ReadAsStreamAsync(idle.Token);
                while (true)
                {
                    idle.CancelAfter(_idleTimeout);
                    var read = await body.ReadAsync(buffer, idle.Token);
                    if (read == 0) break;
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    received += read;
                    if (progress is not null && clock.Elapsed - lastReport >= ProgressInterval)
                    {
                        lastReport = clock.Elapsed;
                        progress.Report(new DownloadProgress(received, total, (received - offset) / Math.Max(clock.Elapsed.TotalSeconds, 1e-3)));
                    }
                }
            }
            catch (Exception e) when (e is IOException or HttpRequestException || e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                await file.FlushAsync(CancellationToken.None);
                var reason = e is OperationCanceledException ? $"no data for {_idleTimeout.TotalSeconds:0} s" : e.Message;
                throw Interrupted(uri, partial, received, total, reason, e);
            }
        }
        progress?.Report(new DownloadProgress(received, total, (received - offset) / Math.Max(clock.Elapsed.TotalSeconds, 1e-3)));
        if (total is { } length && received < length)
            throw Interrupted(uri, partial, received, total, "the connection closed early", null);
    }

    private static ModelPullException Interrupted(Uri uri, string partial, long received, long? total, string reason, Exception? inner)
    {
        var of = total is { } t ? $" of {t.ToString(CultureInfo.InvariantCulture)}" : "";
        var message = $"Download of {uri} was interrupted after {received.ToString(CultureInfo.InvariantCulture)}{of} bytes ({reason}); run the same command again to resume from {partial}.";
        return inner is null ? new ModelPullException(message) : new ModelPullException(message, inner);
    }

    /// <summary>Checks the finished partial file (SHA-256, GGUF header) and renames it into place; a bad one is deleted.</summary>
    private static async Task<ModelPullResult> InstallAsync(string partial, string target, string? expected, long resumedFrom, CancellationToken cancellationToken)
    {
        var sha = await Sha256Async(partial, cancellationToken);
        if (expected is not null && !string.Equals(sha, expected, StringComparison.Ordinal))
        {
            File.Delete(partial);
            throw new ModelPullException($"{Path.GetFileName(target)}: SHA-256 mismatch (expected {expected}, got {sha}); the corrupt download was removed, run the command again to download it anew.");
        }
        GgufModelInfo info;
        try
        {
            info = GgufFile.Read(partial).Info;
        }
        catch (GgufFormatException e)
        {
            File.Delete(partial);
            throw new ModelPullException($"{Path.GetFileName(target)}: the download is not a valid GGUF file ({e.Message}); it was removed.", e);
        }
        File.Move(partial, target, overwrite: true);
        return new ModelPullResult(target, new FileInfo(target).Length, sha, expected is not null, resumedFrom, AlreadyPresent: false, info);
    }

    private static async Task<ModelPullResult> ExistingAsync(string target, string? expected, CancellationToken cancellationToken)
    {
        var sha = await Sha256Async(target, cancellationToken);
        if (expected is not null && !string.Equals(sha, expected, StringComparison.Ordinal))
            throw new ModelPullException($"{target} already exists with SHA-256 {sha}, not {expected}; move it away to download the file again.");
        GgufModelInfo info;
        try
        {
            info = GgufFile.Read(target).Info;
        }
        catch (GgufFormatException e)
        {
            throw new ModelPullException($"{target} already exists but is not a valid GGUF file ({e.Message}); move it away to download the file again.", e);
        }
        return new ModelPullResult(target, new FileInfo(target).Length, sha, expected is not null, 0, AlreadyPresent: true, info);
    }

    /// <summary>The SHA-256 of a file, lower-case hex, as model cards and persona packs give it.</summary>
    public static async Task<string> Sha256Async(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
    }
}
