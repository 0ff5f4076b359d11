using ChatPlatform.Core.Configuration;
using ChatPlatform.Data.Channels;
using ChatPlatform.Data.Lifecycle;
using ChatPlatform.Data.Nodes;
using ChatPlatform.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace ChatPlatform.Data.Tests;

/// <summary>
/// What nodes sharing one store coordinate through it: delivery ids (a message answered once) and job leases (a job
/// run by one node at a time). Each "node" here is its own instance over the same database.
/// </summary>
public sealed class NodeCoordinationTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task TryRecordAsync_SameDeliveryTwice_OnlyTheFirstCounts(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var nodeA = new DeliveryLog(database.Factory, TimeProvider.System);
        var nodeB = new DeliveryLog(database.Factory, TimeProvider.System);

        Assert.True(await nodeA.TryRecordAsync("slack", "Ev0001", Ct));
        Assert.False(await nodeB.TryRecordAsync("slack", "Ev0001", Ct));
        Assert.False(await nodeA.TryRecordAsync("slack", "Ev0001", Ct));
        // The same id on another channel is another delivery.
        Assert.True(await nodeB.TryRecordAsync("bf-msteams", "Ev0001", Ct));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task TryRecordAsync_ManyNodesAtOnce_ExactlyOneWins(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var nodes = Enumerable.Range(0, 6).Select(_ => new DeliveryLog(database.Factory, TimeProvider.System)).ToList();

        var results = await Task.WhenAll(nodes.Select(n => Task.Run(() => n.TryRecordAsync("slack", "Ev-race", Ct), Ct)));

        Assert.Equal(1, results.Count(r => r));
    }

    [Fact]
    public async Task TryRecordAsync_IdLongerThanTheColumn_StoredHashedAndStillDeduplicated()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseOptions.Sqlite);
        var log = new DeliveryLog(database.Factory, TimeProvider.System);
        var id = "19:" + new string('a', 300) + "@thread.v2|1700000000000";

        Assert.True(await log.TryRecordAsync("bf-msteams", id, Ct));
        Assert.False(await log.TryRecordAsync("bf-msteams", id, Ct));
        Assert.True(await log.TryRecordAsync("bf-msteams", id + "1", Ct));
        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        Assert.All(await db.Deliveries.Select(d => d.DeliveryId).ToListAsync(Ct), stored => Assert.True(stored.Length <= DeliveryLog.MaxIdLength));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PurgeAsync_IdsOlderThanADay_RemovedYoungerKept(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var time = new ManualTime(Start);
        var log = new DeliveryLog(database.Factory, time);
        await log.TryRecordAsync("slack", "Ev-old", Ct);
        time.Advance(TimeSpan.FromHours(23));
        await log.TryRecordAsync("slack", "Ev-new", Ct);
        time.Advance(TimeSpan.FromHours(2));

        var purged = await log.PurgeAsync(time.GetUtcNow(), Ct);

        Assert.Equal(1, purged);
        Assert.False(await log.TryRecordAsync("slack", "Ev-new", Ct));
        Assert.True(await log.TryRecordAsync("slack", "Ev-old", Ct));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task TryTakeAsync_TwoNodes_OneHoldsUntilItsLeaseExpires(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var time = new ManualTime(Start);
        var nodeA = new JobLeases(database.Factory, time, "node-a");
        var nodeB = new JobLeases(database.Factory, time, "node-b");
        var lease = TimeSpan.FromMinutes(10);

        Assert.True(await nodeA.TryTakeAsync("retention", lease, Ct));
        Assert.False(await nodeB.TryTakeAsync("retention", lease, Ct));
        // Another job is another lease.
        Assert.True(await nodeB.TryTakeAsync("other-job", lease, Ct));

        time.Advance(TimeSpan.FromMinutes(9));
        Assert.True(await nodeA.TryTakeAsync("retention", lease, Ct));
        time.Advance(TimeSpan.FromMinutes(9));
        Assert.False(await nodeB.TryTakeAsync("retention", lease, Ct));

        // Node A stops renewing: once its lease has run out, node B takes over and A is shut out.
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.True(await nodeB.TryTakeAsync("retention", lease, Ct));
        Assert.False(await nodeA.TryTakeAsync("retention", lease, Ct));
        var row = await nodeA.FindAsync("retention", Ct);
        Assert.Equal("node-b", row?.Holder);
        Assert.Equal(time.GetUtcNow() + lease, row?.ExpiresAt);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ReleaseAsync_ByTheHolder_OtherNodeTakesAtOnce(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var nodeA = new JobLeases(database.Factory, TimeProvider.System, "node-a");
        var nodeB = new JobLeases(database.Factory, TimeProvider.System, "node-b");
        Assert.True(await nodeA.TryTakeAsync("import", TimeSpan.FromHours(1), Ct));

        // Releasing a lease one does not hold changes nothing.
        await nodeB.ReleaseAsync("import", Ct);
        Assert.False(await nodeB.TryTakeAsync("import", TimeSpan.FromHours(1), Ct));
        await nodeA.ReleaseAsync("import", Ct);

        Assert.True(await nodeB.TryTakeAsync("import", TimeSpan.FromHours(1), Ct));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task TryTakeAsync_ManyNodesRaceForAFreeThenAnExpiredLease_ExactlyOneWinsEachTime(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var time = new ManualTime(Start);
        var nodes = Enumerable.Range(0, 6).Select(i => new JobLeases(database.Factory, time, $"node-{i}")).ToList();

        var first = await Task.WhenAll(nodes.Select(n => Task.Run(() => n.TryTakeAsync("retention", TimeSpan.FromMinutes(1), Ct), Ct)));
        time.Advance(TimeSpan.FromMinutes(2));
        var afterExpiry = await Task.WhenAll(nodes.Select(n => Task.Run(() => n.TryTakeAsync("retention", TimeSpan.FromMinutes(1), Ct), Ct)));

        Assert.Equal(1, first.Count(r => r));
        Assert.Equal(1, afterExpiry.Count(r => r));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task RunOnceAsync_TwoNodes_OnlyTheLeaseHolderPurges(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var time = new ManualTime(Start);
        var deliveries = new DeliveryLog(database.Factory, time);
        await deliveries.TryRecordAsync("slack", "Ev-stale", Ct);
        time.Advance(TimeSpan.FromDays(2));
        var retention = new RetentionOptions { IntervalMinutes = 60 };
        RetentionService Node(string name) => new(new DataLifecycle(database.Factory, retention), deliveries,
            new JobLeases(database.Factory, time, name), retention, time, NullLogger<RetentionService>.Instance);
        using var nodeA = Node("node-a");
        using var nodeB = Node("node-b");

        Assert.True(await nodeA.RunOnceAsync(Ct));
        Assert.False(await nodeB.RunOnceAsync(Ct));

        // The stale delivery id went with node A's run.
        Assert.True(await deliveries.TryRecordAsync("slack", "Ev-stale", Ct));
        // Node A keeps the job at its next run; node B gets it only once A has missed a run.
        time.Advance(TimeSpan.FromMinutes(60));
        Assert.True(await nodeA.RunOnceAsync(Ct));
        time.Advance(TimeSpan.FromMinutes(119));
        Assert.False(await nodeB.RunOnceAsync(Ct));
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.True(await nodeB.RunOnceAsync(Ct));
    }
}
