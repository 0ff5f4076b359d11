using System.IdentityModel.Tokens.Jwt;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ChatPlatform.Testing.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.Tokens;

namespace ChatPlatform.Server.Tests.Channels.BotFramework;

/// <summary>
/// A token issuer the tests own: an OpenID configuration and a JWKS served over https on 127.0.0.1, as the Bot
/// Framework SDK requires. Its self-signed TLS certificate is trusted for the current user while it runs (the SDK
/// fetches metadata with its own HttpClient, so trust cannot be injected any other way) and removed afterwards.
/// </summary>
public sealed class TestIdentityProvider : IAsyncDisposable
{
    public const string KeyId = "test-signing-key";
    public const string Issuer = "https://api.botframework.test.invalid";

    private readonly RSA _signingKey = RSA.Create(2048);
    private readonly X509Certificate2 _tlsCertificate;
    private TestHttpServer? _server;

    private TestIdentityProvider(X509Certificate2 tlsCertificate) => _tlsCertificate = tlsCertificate;

    public Uri BaseUri => _server!.BaseUri;

    public string MetadataUrl => new Uri(BaseUri, ".well-known/openid-configuration").ToString();

    public static async Task<TestIdentityProvider> StartAsync(CancellationToken cancellationToken)
    {
        var provider = new TestIdentityProvider(CreateTlsCertificate());
        using (var store = new X509Store(StoreName.Root, StoreLocation.CurrentUser))
        {
            store.Open(OpenFlags.ReadWrite);
            store.Add(X509CertificateLoader.LoadCertificate(provider._tlsCertificate.RawData));
        }
        provider._server = await TestHttpServer.StartAsync(provider.HandleAsync, cancellationToken, provider._tlsCertificate);
        return provider;
    }

    /// <summary>A channel token as Azure Bot Service sends it; every part can be spoiled by a test.</summary>
    public string CreateToken(string audience, string serviceUrl, DateTime? expires = null, RSA? signingKey = null, string issuer = Issuer)
    {
        var expiry = expires ?? DateTime.UtcNow.AddMinutes(30);
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = expiry.AddHours(-1),
            NotBefore = expiry.AddHours(-1),
            Expires = expiry,
            Claims = new Dictionary<string, object> { ["serviceurl"] = serviceUrl },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(signingKey ?? _signingKey) { KeyId = KeyId }, SecurityAlgorithms.RsaSha256),
        };
        return new JwtSecurityTokenHandler().CreateEncodedJwt(descriptor);
    }

    private async Task HandleAsync(HttpContext http, RecordedRequest request)
    {
        http.Response.ContentType = "application/json";
        object body;
        if (http.Request.Path.StartsWithSegments("/.well-known/openid-configuration"))
        {
            body = new
            {
                issuer = Issuer,
                jwks_uri = new Uri(BaseUri, "keys").ToString(),
                id_token_signing_alg_values_supported = new[] { "RS256" },
                token_endpoint_auth_methods_supported = new[] { "private_key_jwt" },
            };
        }
        else if (http.Request.Path.StartsWithSegments("/keys"))
        {
            var parameters = _signingKey.ExportParameters(false);
            body = new
            {
                keys = new[]
                {
                    new
                    {
                        kty = "RSA",
                        use = "sig",
                        kid = KeyId,
                        n = Base64UrlEncoder.Encode(parameters.Modulus),
                        e = Base64UrlEncoder.Encode(parameters.Exponent),
                        endorsements = new[] { "msteams", "slack", "webchat", "directline", "emulator", "test" },
                    },
                },
            };
        }
        else
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            body = new { error = "not found" };
        }
        await http.Response.WriteAsync(JsonSerializer.Serialize(body), http.RequestAborted);
    }

    private static X509Certificate2 CreateTlsCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        // Kestrel wants a certificate whose private key it can use on this platform: round-trip through PKCS#12.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
        using (var store = new X509Store(StoreName.Root, StoreLocation.CurrentUser))
        {
            store.Open(OpenFlags.ReadWrite);
            store.Remove(X509CertificateLoader.LoadCertificate(_tlsCertificate.RawData));
        }
        _tlsCertificate.Dispose();
        _signingKey.Dispose();
    }
}
