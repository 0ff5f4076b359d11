using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace ChatPlatform.Server.Tests;

/// <summary>
/// The test server has no client address of its own: each request says where its connection comes from in
/// <see cref="Header"/>, applied before the application's own pipeline (as Kestrel would have set it).
/// </summary>
public sealed class RemoteAddressFilter : IStartupFilter
{
    public const string Header = "X-Test-Remote-Address";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((http, following) =>
        {
            if (IPAddress.TryParse(http.Request.Headers[Header].ToString(), out var address))
                http.Connection.RemoteIpAddress = address;
            http.Request.Headers.Remove(Header);
            return following(http);
        });
        next(app);
    };
}
