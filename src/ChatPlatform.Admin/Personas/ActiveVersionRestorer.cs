using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Admin.Personas;

/// <summary>At start-up, serves the versions activated in the console instead of the packs folder's copies.</summary>
internal sealed partial class ActiveVersionRestorer(PersonaVersions versions, ILogger<ActiveVersionRestorer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var replaced = await versions.RestoreActiveAsync(cancellationToken);
        if (replaced.Count > 0) LogRestored(logger, replaced.Count, replaced);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving {Count} persona version(s) activated in the admin console: {Ids}")]
    private static partial void LogRestored(ILogger logger, int count, IReadOnlyList<string> ids);
}
