using ChatPlatform.Core.Configuration;
using ChatPlatform.Data.Admin;
using ChatPlatform.Testing;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace ChatPlatform.Data.Tests;

/// <summary>Sign-in throttling of console accounts on the real providers: back-off per account and per address.</summary>
public sealed class AdminSignInTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task SignIn_ConcurrentWrongPasswords_AreAllCounted(string provider)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var database = await TestDatabase.CreateAsync(provider);
        var accounts = new AdminAccounts(database.Factory, new ManualTime(Start));
        await accounts.CreateAsync("dora", AdminRoles.Editor, "test", ct);
        const int attempts = AdminAccounts.FailuresBeforeBackoff - 1;

        var results = await Task.WhenAll(Enumerable.Range(0, attempts)
            .Select(i => Task.Run(() => accounts.SignInAsync("dora", "wrong-" + i, ct), ct)));

        Assert.All(results, r => Assert.Equal(AdminSignInStatus.Failed, r.Status));
        await using var db = await database.Factory.CreateDbContextAsync(ct);
        var stored = await db.AdminAccounts.AsNoTracking().SingleAsync(a => a.UserName == "dora", ct);
        Assert.Equal(attempts, stored.FailedLogins);
        Assert.Null(stored.LockedUntil);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task SignIn_AfterTooManyFailures_WaitsAGrowingTimeThenTheRightPasswordWorks(string provider)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var database = await TestDatabase.CreateAsync(provider);
        var time = new ManualTime(Start);
        var accounts = new AdminAccounts(database.Factory, time);
        var password = await accounts.CreateAsync("erin", AdminRoles.Admin, "test", ct);

        for (var i = 0; i < AdminAccounts.FailuresBeforeBackoff; i++)
            Assert.Equal(AdminSignInStatus.Failed, (await accounts.SignInAsync("erin", "wrong", ct)).Status);
        var tooSoon = await accounts.SignInAsync("erin", password, ct);
        // Attempts during the wait are refused without counting: they do not stretch it.
        for (var i = 0; i < 20; i++) await accounts.SignInAsync("erin", "wrong", ct);
        time.Advance(SignInBackoff.FirstDelay);
        var sixthWrong = await accounts.SignInAsync("erin", "wrong", ct);
        time.Advance(SignInBackoff.FirstDelay);
        var stillWaiting = await accounts.SignInAsync("erin", password, ct);
        time.Advance(SignInBackoff.FirstDelay);
        var afterWait = await accounts.SignInAsync("erin", password, ct);

        Assert.Equal(AdminSignInStatus.Failed, tooSoon.Status);
        Assert.Equal(AdminSignInStatus.Failed, sixthWrong.Status);
        Assert.Equal(AdminSignInStatus.Failed, stillWaiting.Status);
        Assert.Equal(AdminSignInStatus.Succeeded, afterWait.Status);
        await using var db = await database.Factory.CreateDbContextAsync(ct);
        var stored = await db.AdminAccounts.AsNoTracking().SingleAsync(a => a.UserName == "erin", ct);
        Assert.Equal(0, stored.FailedLogins);
        Assert.Null(stored.LockedUntil);
        Assert.Equal(1, await db.AuditLog.CountAsync(a => a.Action == "admin.signin.backoff" && a.Target == "admin:erin", ct));
    }

    [Fact]
    public void Backoff_DoublesFromTheThresholdAndIsCapped()
    {
        Assert.Equal(TimeSpan.Zero, SignInBackoff.Delay(4, 5));
        Assert.Equal(TimeSpan.FromSeconds(1), SignInBackoff.Delay(5, 5));
        Assert.Equal(TimeSpan.FromSeconds(2), SignInBackoff.Delay(6, 5));
        Assert.Equal(TimeSpan.FromSeconds(256), SignInBackoff.Delay(13, 5));
        Assert.Equal(TimeSpan.FromMinutes(5), SignInBackoff.Delay(14, 5));
        Assert.Equal(TimeSpan.FromMinutes(5), SignInBackoff.Delay(int.MaxValue, 5));
    }

    [Fact]
    public async Task SignIn_UnknownDisabledWrongAndWaiting_AnswerAlike()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var database = await TestDatabase.CreateAsync(DatabaseOptions.Sqlite);
        var accounts = new AdminAccounts(database.Factory, new ManualTime(Start));
        var password = await accounts.CreateAsync("fay", AdminRoles.Viewer, "test", ct);
        var disabledPassword = await accounts.CreateAsync("gus", AdminRoles.Viewer, "test", ct);
        await using (var db = await database.Factory.CreateDbContextAsync(ct))
            await db.AdminAccounts.Where(a => a.UserName == "gus").ExecuteUpdateAsync(s => s.SetProperty(a => a.Disabled, true), ct);

        var unknown = await accounts.SignInAsync("nobody", password, ct);
        var disabled = await accounts.SignInAsync("gus", disabledPassword, ct);
        var wrong = await accounts.SignInAsync("fay", "wrong", ct);
        for (var i = 1; i < AdminAccounts.FailuresBeforeBackoff; i++) await accounts.SignInAsync("fay", "wrong", ct);
        var waiting = await accounts.SignInAsync("fay", password, ct);

        var expected = new AdminSignInResult(AdminSignInStatus.Failed);
        Assert.Equal(expected, unknown);
        Assert.Equal(expected, disabled);
        Assert.Equal(expected, wrong);
        Assert.Equal(expected, waiting);
    }

    [Fact]
    public async Task SignIn_ManyFailuresFromOneAddress_MakeOnlyThatAddressWait()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var database = await TestDatabase.CreateAsync(DatabaseOptions.Sqlite);
        var time = new ManualTime(Start);
        var throttle = new AddressThrottle(time, threshold: 3);
        var accounts = new AdminAccounts(database.Factory, time, throttle);
        var password = await accounts.CreateAsync("hal", AdminRoles.Admin, "test", ct);
        const string attacker = "203.0.113.7";

        // Different names, each tried once: only the address ties them together.
        for (var i = 0; i < throttle.Threshold; i++)
            await accounts.SignInAsync("guess-" + i, "guess", attacker, ct);
        var fromAttacker = await accounts.SignInAsync("hal", password, attacker, ct);
        var fromElsewhere = await accounts.SignInAsync("hal", password, "198.51.100.2", ct);
        time.Advance(SignInBackoff.FirstDelay);
        var afterWait = await accounts.SignInAsync("hal", password, attacker, ct);

        Assert.Equal(AdminSignInStatus.Failed, fromAttacker.Status);
        Assert.Equal(AdminSignInStatus.Succeeded, fromElsewhere.Status);
        Assert.Equal(AdminSignInStatus.Succeeded, afterWait.Status);
        Assert.True(throttle.MustWait(attacker) is false);
    }

    [Fact]
    public void AddressThrottle_ForgetsAnAddressAfterAQuietSpell()
    {
        var time = new ManualTime(Start);
        var throttle = new AddressThrottle(time, threshold: 2);
        throttle.Fail("192.0.2.1");
        time.Advance(AddressThrottle.ForgetAfter);
        throttle.Fail("192.0.2.1");
        var afterQuiet = throttle.MustWait("192.0.2.1");
        throttle.Fail("192.0.2.1");

        Assert.False(afterQuiet);
        Assert.True(throttle.MustWait("192.0.2.1"));
    }
}
