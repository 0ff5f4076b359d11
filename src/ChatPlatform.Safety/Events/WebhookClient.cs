using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using ChatPlatform.Core.Configuration;

namespace ChatPlatform.Safety.Events;

/// <summary>
/// The one way the server posts to a webhook. A URL is posted to only when its host is listed in
/// <c>ChatPlatform:Webhooks:AllowedHosts</c>; the connection goes only to an address the host resolves to at connection
/// time that is not loopback, link-local, private, unspecified or multicast (unless
/// <c>ChatPlatform:Webhooks:AllowPrivateAddresses</c>), so a name that later resolves elsewhere cannot reach the inside;
/// redirects are not followed. What went wrong is reported as a short status (the host at most), never the target's
/// answer or an exception's text.
/// </summary>
public sealed class WebhookClient : IDisposable
{
    /// <summary>How long a webhook may take to answer unless told otherwise.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly WebhookOptions _options;
    private readonly HttpClient _http;

    /// <param name="timeout">How long a webhook may take to answer; <see cref="DefaultTimeout"/> when not given.</param>
    public WebhookClient(WebhookOptions options, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            // A proxy would make the connection for us, past the address check.
            UseProxy = false,
            // Names are resolved again for new connections, and each new connection is checked again.
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            ConnectCallback = ConnectAsync,
        };
        _http = new HttpClient(handler) { Timeout = timeout ?? DefaultTimeout };
    }

    /// <summary>Null when <paramref name="url"/> may be posted to; otherwise why not, naming the setting to change.</summary>
    public string? Refusal(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            return "webhooks must be http:// or https:// URLs";
        var host = url.IdnHost.Trim('[', ']');
        if (!_options.IsAllowedHost(host))
            return $"webhooks are not allowed for host '{host}': add it to {WebhookOptions.SectionName}:AllowedHosts";
        if (IPAddress.TryParse(host, out var literal) && !IsAllowedAddress(literal))
            return $"webhooks are not allowed to the private address '{host}': set {WebhookOptions.SectionName}:AllowPrivateAddresses to allow it";
        return null;
    }

    /// <summary>Posts <paramref name="body"/> as JSON; null when the webhook answered 2xx, otherwise a short reason.</summary>
    public async Task<string?> PostJsonAsync<T>(Uri url, T body, CancellationToken cancellationToken)
    {
        if (Refusal(url) is { } refusal) return refusal;
        try
        {
            using var response = await _http.PostAsJsonAsync(url, body, cancellationToken);
            var status = (int)response.StatusCode;
            if (status is >= 300 and < 400) return $"webhook answered HTTP {status} (redirects are not followed)";
            return response.IsSuccessStatusCode ? null : $"webhook answered HTTP {status}";
        }
        catch (HttpRequestException e) when (e.InnerException is AddressRefusedException)
        {
            return $"webhook host '{url.IdnHost}' resolves only to addresses that are not allowed: set {WebhookOptions.SectionName}:AllowPrivateAddresses to allow private addresses";
        }
        catch (HttpRequestException)
        {
            return "webhook unreachable";
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return "webhook did not answer in time";
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>
    /// Whether a connection to <paramref name="address"/> is allowed: always with <c>AllowPrivateAddresses</c>, otherwise
    /// not to loopback, link-local, private (RFC 1918, unique-local, CGNAT 100.64/10), unspecified, multicast or reserved
    /// addresses, including IPv4 addresses carried inside IPv6 ones.
    /// </summary>
    public bool IsAllowedAddress(IPAddress address) => _options.AllowPrivateAddresses || !IsInternal(address);

    /// <summary>Loopback, link-local, private, unspecified, multicast or reserved.</summary>
    public static bool IsInternal(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        var b = address.GetAddressBytes();
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return b[0] is 0 or 10 or 127 or >= 224        // this network, private, loopback, multicast and reserved
                || (b[0] == 100 && (b[1] & 0xC0) == 64)     // carrier-grade NAT 100.64.0.0/10
                || (b[0] == 169 && b[1] == 254)             // link-local
                || (b[0] == 172 && (b[1] & 0xF0) == 16)     // private 172.16.0.0/12
                || (b[0] == 192 && b[1] == 168);            // private 192.168.0.0/16
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return true;
        if (b[0] == 0xFF) return true;                                  // multicast
        if ((b[0] & 0xFE) == 0xFC) return true;                         // unique-local fc00::/7
        if (b[0] == 0xFE && (b[1] & 0x80) == 0x80) return true;         // link-local fe80::/10, site-local fec0::/10
        if (b.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0)              // ::, ::1 and IPv4-compatible ::a.b.c.d
            return IsInternal(new IPAddress(b.AsSpan(12, 4)));
        if (b.AsSpan(0, 12).SequenceEqual(Nat64Prefix))                 // NAT64 64:ff9b::a.b.c.d
            return IsInternal(new IPAddress(b.AsSpan(12, 4)));
        if (b[0] == 0x20 && b[1] == 0x02)                               // 6to4 2002:a.b.c.d::/48
            return IsInternal(new IPAddress(b.AsSpan(2, 4)));
        return false;
    }

    private static readonly byte[] Nat64Prefix = [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>Resolves the host now, keeps the addresses that are allowed and connects to one of them.</summary>
    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host.Trim('[', ']');
        var resolved = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var allowed = resolved.Where(IsAllowedAddress).ToArray();
        if (allowed.Length == 0) throw new AddressRefusedException();
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Every address the webhook's host resolved to is one webhooks may not reach.</summary>
    private sealed class AddressRefusedException() : IOException("The webhook host resolves only to addresses that are not allowed.");
}
