using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using ChatPlatform.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Xunit;

namespace ChatPlatform.Data.Tests;

/// <summary><c>AddChatData</c> binds and checks the Database and Retention sections.</summary>
public sealed class DataSectionsTests
{
    [Fact]
    public void AddChatData_Settings_BoundToTheSectionsOptions()
    {
        var data = Directory.CreateTempSubdirectory("chatplatform-sections-").FullName;
        using var host = Build(new()
        {
            ["ChatPlatform:DataDirectory"] = data,
            ["ChatPlatform:Retention:ConversationDays"] = "30",
            ["ChatPlatform:Retention:PersonaConversationDays:mindchat"] = "7",
        });

        var retention = host.Services.GetRequiredService<RetentionOptions>();
        Assert.Same(host.Services.GetRequiredService<IOptions<RetentionOptions>>().Value, retention);
        Assert.Equal(TimeSpan.FromDays(30), retention.ConversationPeriodFor("gradchat"));
        Assert.Equal(TimeSpan.FromDays(7), retention.ConversationPeriodFor("mindchat"));
        Assert.True(host.Services.GetRequiredService<DatabaseOptions>().IsSqlite);
        Assert.Equal(Path.Combine(data, "chatplatform.db"), host.Services.GetRequiredService<ChatDbContextFactory>().SqliteFile);
    }

    [Theory]
    [InlineData("ChatPlatform:Database:Provider", "Oracle")]
    [InlineData("ChatPlatform:Database:Provider", "Postgres", "ChatPlatform:Database:ConnectionString")]
    [InlineData("ChatPlatform:Retention:ConversationDays", "-1")]
    [InlineData("ChatPlatform:Retention:IntervalMinutes", "0")]
    [InlineData("ChatPlatform:Retention:PersonaConversationDays:mindchat", "40000")]
    public async Task AddChatData_BadValue_StartFailsNamingTheKey(string key, string value, string? named = null)
    {
        using var host = Build(new() { [key] = value });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains(named ?? key, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", error.Message, StringComparison.Ordinal);
    }

    private static IHost Build(Dictionary<string, string?> settings)
    {
        settings.TryAdd("ChatPlatform:DataDirectory", Directory.CreateTempSubdirectory("chatplatform-sections-").FullName);
        return SectionsHost.Build(settings, builder =>
        {
            // Persona versions are served in place of the catalog's packs; the host supplies the catalog.
            builder.Services.AddSingleton<IWritablePersonaCatalog>(new PersonaCatalog([]));
            builder.Services.AddChatData(builder.Configuration);
        });
    }
}
