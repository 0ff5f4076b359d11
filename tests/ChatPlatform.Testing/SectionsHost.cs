using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace ChatPlatform.Testing;

/// <summary>
/// A bare host whose configuration is <c>settings</c> and whose services are one capability's (<c>AddSafety</c>,
/// <c>AddInference</c>…): what each capability's section tests start to see its options bound and checked.
/// </summary>
public static class SectionsHost
{
    public static IHost Build(IDictionary<string, string?> settings, Action<HostApplicationBuilder> addCapability)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        addCapability(builder);
        return builder.Build();
    }
}
