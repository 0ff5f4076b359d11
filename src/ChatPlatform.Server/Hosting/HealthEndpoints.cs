using System.Text.Json;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Data;
using ChatPlatform.Inference.Local;
using ChatPlatform.Inference.Remote;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ChatPlatform.Server.Hosting;

/// <summary>
/// <c>/healthz/live</c>: the process answers. <c>/healthz/ready</c> (and <c>/healthz</c>): the database is reachable with
/// every migration applied, and the model is loaded or the remote inference server answers; otherwise 503 naming the
/// failing check. Answers carry check names and short reasons only, never connection strings or exception text.
/// </summary>
public static class HealthEndpoints
{
    private const string Ready = "ready";

    /// <param name="model">The <c>ChatPlatform:Model</c> section as configured: which backend's check applies.</param>
    public static IServiceCollection AddReadinessChecks(this IServiceCollection services, ModelOptions model)
    {
        var checks = services.AddHealthChecks().AddCheck<DatabaseCheck>("database", tags: [Ready]);
        if (model.IsRemote) checks.AddCheck<RemoteInferenceCheck>("inference", tags: [Ready]);
        else checks.AddCheck<LocalModelCheck>("model", tags: [Ready]);
        return services;
    }

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/healthz/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });
        var ready = new HealthCheckOptions { Predicate = c => c.Tags.Contains(Ready), ResponseWriter = WriteAsync };
        app.MapHealthChecks("/healthz/ready", ready);
        app.MapHealthChecks("/healthz", ready);
        return app;
    }

    private static Task WriteAsync(HttpContext http, HealthReport report)
    {
        http.Response.ContentType = "application/json";
        var status = report.Status == HealthStatus.Unhealthy ? "unavailable" : "ok";
        var checks = report.Entries.ToDictionary(e => e.Key, e => e.Value.Status == HealthStatus.Unhealthy ? e.Value.Description ?? "failing" : "ok");
        var failing = report.Entries.Where(e => e.Value.Status == HealthStatus.Unhealthy).Select(e => e.Key).ToList();
        return http.Response.WriteAsync(JsonSerializer.Serialize(new { status, failing, checks }), http.RequestAborted);
    }

    /// <summary>The store answers and its schema is current.</summary>
    internal sealed class DatabaseCheck(IDbContextFactory<ChatDbContext> contexts) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await using var db = await contexts.CreateDbContextAsync(cancellationToken);
                if (!await db.Database.CanConnectAsync(cancellationToken))
                    return HealthCheckResult.Unhealthy("the database cannot be reached");
                var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).Count();
                return pending == 0 ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy($"{pending} migration(s) not applied");
            }
            catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
            {
                return HealthCheckResult.Unhealthy("the database cannot be reached");
            }
        }
    }

    /// <summary>The local model is loaded (it is loaded before the first request) and not released.</summary>
    internal sealed class LocalModelCheck(IServiceProvider services) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(services.GetService<LocalModel>() is { IsDisposed: false }
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy("the model is not loaded"));
    }

    /// <summary>The remote inference server answers HTTP on its API root (any status below 500).</summary>
    internal sealed class RemoteInferenceCheck(IHttpClientFactory clients, RemoteOptions remote) : IHealthCheck
    {
        private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var completions = RemoteChatClient.CompletionsUri(remote.BaseUrl);
            var models = new Uri(completions, "../models");
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, models);
                if (!string.IsNullOrEmpty(remote.ApiKey))
                    request.Headers.Authorization = new("Bearer", remote.ApiKey);
                using var response = await clients.CreateClient(RemoteChatClient.ProbeHttpClientName).SendAsync(request, timeout.Token);
                return (int)response.StatusCode < 500
                    ? HealthCheckResult.Healthy()
                    : HealthCheckResult.Unhealthy($"the inference server answered HTTP {(int)response.StatusCode}");
            }
            catch (HttpRequestException)
            {
                return HealthCheckResult.Unhealthy("the inference server is unreachable");
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return HealthCheckResult.Unhealthy("the inference server did not answer in time");
            }
        }
    }
}
