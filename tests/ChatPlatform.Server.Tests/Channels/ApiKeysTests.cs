using Xunit;
using ChatPlatform.Channels.ApiKeys;

namespace ChatPlatform.Server.Tests.Channels;

public sealed class ApiKeysTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("chatplatform-keys-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task FindAsync_AfterRevoke_ReturnsNull()
    {
        using var store = FileApiKeyStore.InDataDirectory(_directory);
        var keys = new ApiKeys(store, TimeProvider.System);
        var key = await keys.CreateAsync("client-a", TestContext.Current.CancellationToken);
        Assert.Equal("client-a", (await keys.FindAsync(key, TestContext.Current.CancellationToken))?.Name);

        Assert.True(await keys.RevokeAsync("client-a", TestContext.Current.CancellationToken));

        Assert.Null(await keys.FindAsync(key, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task FindAsync_KeyCreatedBySecondStoreOnSameFile_IsSeen()
    {
        using var server = FileApiKeyStore.InDataDirectory(_directory);
        using var cli = FileApiKeyStore.InDataDirectory(_directory);
        var serverKeys = new ApiKeys(server, TimeProvider.System);
        Assert.Empty(await serverKeys.ListAsync(TestContext.Current.CancellationToken));

        var key = await new ApiKeys(cli, TimeProvider.System).CreateAsync("client-b", TestContext.Current.CancellationToken);

        Assert.Equal("client-b", (await serverKeys.FindAsync(key, TestContext.Current.CancellationToken))?.Name);
    }

    [Fact]
    public async Task CreateAsync_DuplicateName_Throws()
    {
        using var store = FileApiKeyStore.InDataDirectory(_directory);
        var keys = new ApiKeys(store, TimeProvider.System);
        await keys.CreateAsync("same", TestContext.Current.CancellationToken);

        await Assert.ThrowsAsync<InvalidOperationException>(() => keys.CreateAsync("same", TestContext.Current.CancellationToken));
    }
}
