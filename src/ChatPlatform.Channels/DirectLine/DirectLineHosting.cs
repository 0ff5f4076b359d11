using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Channels.DirectLine;

public static class DirectLineHosting
{
    /// <summary>Direct Line: options (<c>ChatPlatform:DirectLine</c>), tokens, conversations, the bot and the CORS policy.</summary>
    public static IHostApplicationBuilder AddDirectLine(this IHostApplicationBuilder builder, string dataDirectory)
    {
        var options = builder.Configuration.GetSection(DirectLineOptions.SectionName).Get<DirectLineOptions>() ?? new DirectLineOptions();
        if (options.Validate() is { Count: > 0 } errors)
            throw new OptionsValidationException(DirectLineOptions.SectionName, typeof(DirectLineOptions), errors);
        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(sp => new DirectLineTokens(
            DirectLineTokens.LoadKey(options, dataDirectory), sp.GetRequiredService<TimeProvider>(), TimeSpan.FromSeconds(options.TokenLifetimeSeconds)));
        services.AddSingleton<DirectLineConversations>();
        services.AddHostedService(sp => sp.GetRequiredService<DirectLineConversations>());
        services.AddSingleton<ChatPlatform.Core.Privacy.IConversationForgetter>(sp => sp.GetRequiredService<DirectLineConversations>());
        services.AddSingleton<DirectLineBot>();
        services.AddSingleton<DirectLineServices>();
        services.AddCors(cors => cors.AddPolicy(DirectLineApi.CorsPolicy, policy => Configure(policy, options.AllowedOrigins)));
        return builder;
    }

    /// <summary>
    /// The headers and methods Direct Line clients send, for the configured origins. DirectLineJS's requests (rxjs
    /// ajax) also carry <c>X-Requested-With</c>; without it the browser blocks every cross-site call.
    /// </summary>
    private static void Configure(CorsPolicyBuilder policy, IReadOnlyList<string> origins)
    {
        if (origins.Contains("*")) policy.AllowAnyOrigin();
        else policy.WithOrigins([.. origins]);
        policy.WithHeaders("Authorization", "Content-Type", "Accept", "x-ms-bot-agent", "X-Requested-With")
            .WithMethods("GET", "POST", "OPTIONS")
            .SetPreflightMaxAge(TimeSpan.FromHours(1));
    }
}
