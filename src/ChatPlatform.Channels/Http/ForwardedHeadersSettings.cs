using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;

namespace ChatPlatform.Channels.Http;

/// <summary>
/// The <c>ChatPlatform:ForwardedHeaders</c> section: the reverse proxies whose <c>X-Forwarded-For</c> and
/// <c>X-Forwarded-Proto</c> are believed. Off by default (both lists empty): then the connection's own address and
/// scheme count, forwarded headers are never applied, and a request that carries one is never treated as local.
/// </summary>
public sealed class ForwardedHeadersSettings
{
    public const string SectionName = "ChatPlatform:ForwardedHeaders";

    /// <summary>Addresses of the proxies in front of this server (e.g. <c>127.0.0.1</c> for nginx on the same host).</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Networks the proxies live in, in CIDR form (e.g. <c>10.0.0.0/8</c> for a cluster's ingress).</summary>
    public List<string> KnownNetworks { get; set; } = [];

    /// <summary>How many proxies in a row are undone, from the nearest; more than one only for chained proxies.</summary>
    public int ForwardLimit { get; set; } = 1;

    public bool Enabled => KnownProxies.Count > 0 || KnownNetworks.Count > 0;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        for (var i = 0; i < KnownProxies.Count; i++)
            if (!IPAddress.TryParse(KnownProxies[i], out _))
                errors.Add($"{SectionName}:KnownProxies:{i} must be an IP address such as 127.0.0.1 (got '{KnownProxies[i]}')");
        for (var i = 0; i < KnownNetworks.Count; i++)
            if (!System.Net.IPNetwork.TryParse(KnownNetworks[i], out _))
                errors.Add($"{SectionName}:KnownNetworks:{i} must be a network in CIDR form such as 10.0.0.0/8 (got '{KnownNetworks[i]}')");
        if (ForwardLimit is < 1 or > 10)
            errors.Add($"{SectionName}:ForwardLimit must be between 1 and 10 (got {ForwardLimit})");
        return errors;
    }

    /// <summary>ASP.NET Core's middleware options: only the configured proxies, none of its loopback defaults.</summary>
    public void Apply(ForwardedHeadersOptions options)
    {
        options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
        options.ForwardLimit = ForwardLimit;
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var proxy in KnownProxies)
            options.KnownProxies.Add(IPAddress.Parse(proxy));
        foreach (var network in KnownNetworks)
            options.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
    }

    /// <summary>What the start-up log says about where client addresses come from.</summary>
    public string Describe() => Enabled
        ? $"client address and scheme come from X-Forwarded-For and X-Forwarded-Proto sent by {string.Join(", ", KnownProxies.Concat(KnownNetworks))}; from anyone else they are ignored"
        : $"off ({SectionName} not set): client address and scheme are the connection's own, and a request carrying forwarded headers is never treated as coming from this machine";
}

/// <summary>Who is on the other end of a request.</summary>
public static class ClientAddress
{
    // Headers a proxy adds, and those the forwarded-headers middleware leaves once it has applied them.
    private static readonly string[] ForwardingHeaders =
        ["X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded", "X-Real-IP", "X-Original-For", "X-Original-Proto"];

    /// <summary>
    /// True only for a request that really comes from this machine: a loopback connection with no forwarded header,
    /// so that a reverse proxy or sidecar on the same host never passes its callers off as local.
    /// </summary>
    public static bool IsFromThisMachine(HttpContext http) =>
        http.Connection.RemoteIpAddress is { } ip
        && IPAddress.IsLoopback(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip)
        && !ForwardingHeaders.Any(http.Request.Headers.ContainsKey);
}
