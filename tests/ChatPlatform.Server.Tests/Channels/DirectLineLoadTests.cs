using System.Net;
using ChatPlatform.Channels.DirectLine;
using ChatPlatform.Cli.LoadTesting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests.Channels;

/// <summary>
/// A short functional version of the Direct Line load check (the full one is <c>chatplatform loadtest directline</c>):
/// more conversations than the core admits at once, over real sockets on 127.0.0.1.
/// </summary>
public sealed class DirectLineLoadTests : IAsyncDisposable
{
    private readonly ServerFactory _factory = new();

    public ValueTask DisposeAsync() => _factory.DisposeAsync();

    [Fact]
    public void LoadTest_ChannelAndReplyMarks_AreTheServersOwn()
    {
        Assert.Equal(DirectLineApi.ChannelId, DirectLineLoadTest.StoreChannel);
        Assert.Equal(DirectLineBot.BusyKey, DirectLineLoadTest.BusyKey);
        Assert.Equal(DirectLineBot.ErrorKey, DirectLineLoadTest.ErrorKey);
    }

    [Fact]
    public async Task LoadTest_TenConversations_EveryMessageAnsweredOrBusyNo5xxNoLostRows()
    {
        // One reply at a time and a short queue: messages beyond it are answered "busy" instead of waiting.
        _factory.Settings["ChatPlatform:Model:MaxConcurrentConversations"] = "1";
        _factory.Settings["ChatPlatform:Model:MaxQueuedRequests"] = "2";
        _factory.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _factory.StartServer();
        var address = _factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var report = await new DirectLineLoadTest(http).RunAsync(
            new DirectLineLoadSettings(new Uri(address), 10, TimeSpan.FromSeconds(3), ReplyTimeout: TimeSpan.FromSeconds(60)), TestContext.Current.CancellationToken);

        Assert.True(report.Passed, report.ToTable());
        Assert.Equal(report.MessagesSent, report.Replies + report.BusyAnswers + report.RateLimited);
        Assert.True(report.Replies > 0, report.ToTable());

        // Every message the server took in is stored (also those answered "busy"), and every reply a client saw.
        var database = Path.Combine(_factory.DataDirectory, "chatplatform.db");
        await using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        foreach (var (conversation, accepted) in report.AcceptedByConversation)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT SUM(m.Role = 'user'), SUM(m.Role = 'assistant') FROM messages m
                JOIN conversations c ON c.Id = m.ConversationId WHERE c.Channel = 'directline' AND c.ExternalId = $id
                """;
            command.Parameters.AddWithValue("$id", conversation);
            await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
            Assert.True(await reader.ReadAsync(TestContext.Current.CancellationToken));
            Assert.Equal(accepted, reader.GetInt32(0));
            Assert.Equal(report.RepliesByConversation.GetValueOrDefault(conversation), reader.IsDBNull(1) ? 0 : reader.GetInt32(1));
        }
    }
}
