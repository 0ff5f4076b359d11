using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Core.Personas;
using ChatPlatform.Core.Safety;
using ChatPlatform.Data.Channels;
using ChatPlatform.Data.Conversations;
using ChatPlatform.Data.Dashboard;
using ChatPlatform.Data.Feedback;
using ChatPlatform.Data.Lifecycle;
using ChatPlatform.Data.Safety;
using ChatPlatform.Safety.Events;
using ChatPlatform.Testing;
using ChatPlatform.Testing.Http;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace ChatPlatform.Data.Tests;

/// <summary>The admin console's queries and changes over a real database: conversations, safety review, bindings, dashboard.</summary>
public sealed class OperationsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 9, 0, 0, TimeSpan.Zero);

    /// <summary>Three conversations: a crisis one on web, a blocked one on openai with a bad rating, a plain one on slack.</summary>
    private static async Task SeedAsync(TestDatabase database)
    {
        var store = new EfConversationStore(database.Factory);
        await store.OpenAsync("web", "crisis-1", "mindchat", "en", "user-a", Ct);
        await SafetyEventWriter.StoreAsync(database.Factory,
            [new SafetyEvent("web", "crisis-1", "mindchat", "crisis", SafetySeverity.High, "referral", "[redacted excerpt]", T0)], Ct);
        await store.AppendAsync("web", "crisis-1", new StoredMessage("user", "I feel lost", T0.AddSeconds(1)), new MessageDetails(SafetyVerdicts: ["crisis:engaged"]), Ct);
        await store.AppendAsync("web", "crisis-1", new StoredMessage("assistant", "Please call 988", T0.AddSeconds(2)), new MessageDetails(FinishReason: "safety"), Ct);

        await store.OpenAsync("openai", "key/blocked-1", "sunsimiao", "en", "user-b", Ct);
        await store.AppendAsync("openai", "key/blocked-1", new StoredMessage("user", "dose?", T0.AddHours(1)), null, Ct);
        await SafetyEventWriter.StoreAsync(database.Factory,
            [new SafetyEvent("openai", "key/blocked-1", "sunsimiao", "output", SafetySeverity.Medium, "blocked", null, T0.AddHours(1).AddSeconds(1))], Ct);
        await store.AppendAsync("openai", "key/blocked-1", new StoredMessage("assistant", "I can't say", T0.AddHours(1).AddSeconds(2)),
            new MessageDetails(Tokens: 20, LatencyMs: 2000, FinishReason: "content_filter"), Ct);

        await store.OpenAsync("slack", "plain-1", "gradchat", "en", null, Ct);
        await store.AppendAsync("slack", "plain-1", new StoredMessage("user", "grad school?", T0.AddHours(2)), null, Ct);
        await store.AppendAsync("slack", "plain-1", new StoredMessage("assistant", "Start early", T0.AddHours(2).AddSeconds(1)),
            new MessageDetails(Tokens: 30, LatencyMs: 1000, FinishReason: "stop"), Ct);

        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        var ids = await db.Conversations.ToDictionaryAsync(c => c.ExternalId, c => c.Id, Ct);
        var reply = await db.Messages.Where(m => m.ConversationId == ids["key/blocked-1"] && m.Role == "assistant").Select(m => m.Id).SingleAsync(Ct);
        db.Feedback.Add(new FeedbackRecord { ConversationId = ids["key/blocked-1"], MessageId = reply, Rating = -1, CreatedAt = T0.AddHours(1) });
        db.Feedback.Add(new FeedbackRecord { ConversationId = ids["plain-1"], Rating = 1, CreatedAt = T0.AddHours(2) });
        db.Feedback.Add(new FeedbackRecord { ConversationId = ids["plain-1"], Rating = 1, CreatedAt = T0.AddHours(2) });
        // The store stamps conversations with the wall clock; put them where the test's messages are.
        foreach (var (external, hours) in new[] { ("crisis-1", 0), ("key/blocked-1", 1), ("plain-1", 2) })
        {
            var at = T0.AddHours(hours);
            await db.Conversations.Where(c => c.ExternalId == external)
                .ExecuteUpdateAsync(s => s.SetProperty(c => c.CreatedAt, at).SetProperty(c => c.UpdatedAt, at.AddMinutes(5)), Ct);
        }
        await db.SaveChangesAsync(Ct);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task SearchAsync_EachFilter_SelectsTheMatchingConversations(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        await SeedAsync(database);
        var queries = new ConversationQueries(database.Factory);

        async Task<string[]> Find(ConversationFilter filter) =>
            [.. (await queries.SearchAsync(filter, Ct)).Items.Select(c => c.ExternalId)];

        Assert.Equal(["plain-1", "key/blocked-1", "crisis-1"], await Find(new()));
        Assert.Equal(["crisis-1"], await Find(new(Flag: ConversationMark.Crisis)));
        Assert.Equal(["key/blocked-1", "crisis-1"], await Find(new(Flag: ConversationMark.Blocked)));
        Assert.Equal(["key/blocked-1"], await Find(new(Flag: ConversationMark.NegativeFeedback)));
        Assert.Equal(["plain-1"], await Find(new(Persona: "gradchat")));
        Assert.Equal(["key/blocked-1"], await Find(new(Channel: "openai")));
        Assert.Equal(["key/blocked-1"], await Find(new(From: T0.AddMinutes(30), To: T0.AddMinutes(90))));
        var page = await queries.SearchAsync(new(PageSize: 2, Page: 1), Ct);
        Assert.Equal(3, page.Total);
        Assert.Equal("crisis-1", Assert.Single(page.Items).ExternalId);
        var blocked = (await queries.SearchAsync(new(Channel: "openai"), Ct)).Items.Single();
        Assert.True(blocked.Blocked && blocked.NegativeFeedback && !blocked.Crisis);
    }

    [Fact]
    public async Task SearchAsync_RangeEndsBeforeItStarts_ThrowsNamingIt()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseOptions.Sqlite);

        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            new ConversationQueries(database.Factory).SearchAsync(new(From: T0, To: T0.AddDays(-1)), Ct));

        Assert.Contains("ends before it starts", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetTranscriptAsync_CrisisConversation_VerdictsAndEventSitOnTheirMessages()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseOptions.Sqlite);
        await SeedAsync(database);
        var queries = new ConversationQueries(database.Factory);
        var id = (await queries.SearchAsync(new(Flag: ConversationMark.Crisis), Ct)).Items.Single().Id;

        var transcript = await queries.GetTranscriptAsync(id, Ct);

        Assert.NotNull(transcript);
        Assert.Equal(["user", "assistant"], transcript.Messages.Select(m => m.Role).ToArray());
        Assert.Equal(["crisis:engaged"], transcript.Messages[0].Verdicts);
        Assert.Equal("crisis", Assert.Single(transcript.Messages[0].Events).Rail);
        Assert.Empty(transcript.Messages[1].Events);
        Assert.Equal("safety", transcript.Messages[1].FinishReason);
        Assert.Null(await queries.GetTranscriptAsync(id + 1000, Ct));
    }

    [Fact]
    public async Task GetTranscriptAsync_RatedReply_CarriesItsRating()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseOptions.Sqlite);
        await SeedAsync(database);
        var queries = new ConversationQueries(database.Factory);
        var id = (await queries.SearchAsync(new(Channel: "openai"), Ct)).Items.Single().Id;

        var transcript = await queries.GetTranscriptAsync(id, Ct);

        Assert.Equal(-1, transcript!.Messages[1].Rating);
        Assert.Equal("output", Assert.Single(transcript.Messages[1].Events).Rail);
    }

    [Fact]
    public async Task ExportConversationAsync_OneConversation_HoldsItsMessagesAndIsAudited()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseOptions.Sqlite);
        await SeedAsync(database);
        var id = (await new ConversationQueries(database.Factory).SearchAsync(new(Channel: "slack"), Ct)).Items.Single().Id;

        var export = await new DataLifecycle(database.Factory, new RetentionOptions()).ExportConversationAsync(id, "rita", Ct);

        Assert.NotNull(export);
        Assert.Equal(["grad school?", "Start early"], export.Messages.Select(m => m.Text).ToArray());
        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        var audit = await db.AuditLog.AsNoTracking().SingleAsync(a => a.Action == "conversation.export", Ct);
        Assert.Equal(("rita", $"conversation:{id}"), (audit.Actor, audit.Target));
    }

    private static SafetyReview Review(TestDatabase database, string? webhook, SafetyReviewOptions? options = null, WebhookOptions? webhooks = null)
    {
        var pack = TestPersonas.Create("mindchat") with { Safety = new SafetyPolicy { Crisis = new CrisisProtocol { NotifyWebhook = webhook } } };
        // The test servers listen on 127.0.0.1, which webhooks reach only when allowed in so many words; the loopback
        // server can take longer than the production 10 s on a loaded test machine.
        var client = new WebhookClient(webhooks ?? new WebhookOptions { AllowedHosts = ["127.0.0.1"], AllowPrivateAddresses = true }, TimeSpan.FromMinutes(1));
        return new SafetyReview(database.Factory, new SafetyWebhook(client), TestPersonas.Catalog(pack, TestPersonas.Create("sunsimiao")),
            options ?? new SafetyReviewOptions(), TimeProvider.System);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ListAsync_MixedSeverities_HighFirstThenNewestAndReviewedOnesLeave(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        await SafetyEventWriter.StoreAsync(database.Factory, [
            new SafetyEvent("web", "a", "mindchat", "pii", SafetySeverity.Low, "redact", null, T0.AddMinutes(30)),
            new SafetyEvent("web", "b", "mindchat", "crisis", SafetySeverity.High, "referral", null, T0),
            new SafetyEvent("web", "c", "mindchat", "crisis", SafetySeverity.High, "referral", null, T0.AddMinutes(10)),
            new SafetyEvent("web", "d", "mindchat", "injection", SafetySeverity.Medium, "refused", null, T0.AddMinutes(40))], Ct);
        var review = Review(database, webhook: null);

        var queue = await review.ListAsync(new(), Ct);
        Assert.Equal(["c", "b", "d", "a"], queue.Items.Select(e => e.ConversationExternalId).ToArray());
        Assert.Equal(2, await review.CountOpenHighAsync(Ct));

        Assert.True(await review.MarkReviewedAsync(queue.Items[0].Id, "rita", "called back", dismiss: false, Ct));
        Assert.False(await review.MarkReviewedAsync(99_999, "rita", null, dismiss: false, Ct));

        Assert.Equal(["b", "d", "a"], (await review.ListAsync(new(), Ct)).Items.Select(e => e.ConversationExternalId).ToArray());
        Assert.Equal(1, await review.CountOpenHighAsync(Ct));
        var closed = await review.GetAsync(queue.Items[0].Id, Ct);
        Assert.Equal((SafetyReviewState.Reviewed, "rita", "called back"), (closed!.ReviewState, closed.Reviewer, closed.ReviewNote));
        Assert.Equal(4, (await review.ListAsync(new(OpenOnly: false), Ct)).Total);
        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        Assert.Equal("rita", (await db.AuditLog.AsNoTracking().SingleAsync(a => a.Action == "safety.review", Ct)).Actor);
    }

    [Fact]
    public async Task EscalateAsync_PersonaWebhook_PostsNoteWithoutExcerptAndCloses()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseOptions.Sqlite);
        await using var server = await TestHttpServer.StartAsync((_, _) => Task.CompletedTask, Ct);
        await SafetyEventWriter.StoreAsync(database.Factory,
            [new SafetyEvent("web", "c-9", "mindchat", "crisis", SafetySeverity.High, "referral", "secret excerpt", T0)], Ct);
        var review = Review(database, new Uri(server.BaseUri, "/oncall").ToString());
        var id = (await review.ListAsync(new(), Ct)).Items.Single().Id;

        var result = await review.EscalateAsync(id, "rita", "please call the student", Ct);

        Assert.Equal(new EscalationResult(true, null), result);
        var request = Assert.Single(server.Requests);
        Assert.Equal("/oncall", request.PathAndQuery);
        Assert.Contains("please call the student", request.Body, StringComparison.Ordinal);
        Assert.Contains("c-9", request.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("secret excerpt", request.Body, StringComparison.Ordinal);
        Assert.Equal(SafetyReviewState.Escalated, (await review.GetAsync(id, Ct))!.ReviewState);
    }

    [Fact]
    public async Task EscalateAsync_NoWebhookAnywhere_NotDeliveredSaysWhatToSetAndStaysOpen()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseOptions.Sqlite);
        await SafetyEventWriter.StoreAsync(database.Factory,
            [new SafetyEvent("web", "c-1", "sunsimiao", "medical_emergency", SafetySeverity.High, "referral", null, T0)], Ct);
        var review = Review(database, webhook: null);
        var id = (await review.ListAsync(new(), Ct)).Items.Single().Id;

        var result = await review.EscalateAsync(id, "rita", null, Ct);

        Assert.False(result!.Delivered);
        Assert.Contains("ChatPlatform:SafetyReview:EscalationWebhook", result.Problem, StringComparison.Ordinal);
        Assert.Equal(SafetyReviewState.Pending, (await review.GetAsync(id, Ct))!.ReviewState);
    }

    [Fact]
    public async Task EscalateAsync_WebhookAnswers500_NotDeliveredWithTheStatus()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseOptions.Sqlite);
        await using var server = await TestHttpServer.StartAsync((http, _) => { http.Response.StatusCode = 500; return Task.CompletedTask; }, Ct);
        await SafetyEventWriter.StoreAsync(database.Factory,
            [new SafetyEvent("web", "c-2", "sunsimiao", "crisis", SafetySeverity.High, "referral", null, T0)], Ct);
        var review = Review(database, null, new SafetyReviewOptions { EscalationWebhook = new Uri(server.BaseUri, "/escalate").ToString() });
        var id = (await review.ListAsync(new(), Ct)).Items.Single().Id;

        var result = await review.EscalateAsync(id, "rita", null, Ct);

        Assert.False(result!.Delivered);
        Assert.Contains("HTTP 500", result.Problem, StringComparison.Ordinal);
        Assert.Equal("/escalate", Assert.Single(server.Requests).PathAndQuery);
    }

    [Fact]
    public async Task EscalateAsync_HostNotAllowed_NotSentSaysWhichSettingAndStaysOpen()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseOptions.Sqlite);
        await using var server = await TestHttpServer.StartAsync((_, _) => Task.CompletedTask, Ct);
        await SafetyEventWriter.StoreAsync(database.Factory,
            [new SafetyEvent("web", "c-3", "mindchat", "crisis", SafetySeverity.High, "referral", null, T0)], Ct);
        var review = Review(database, new Uri(server.BaseUri, "/oncall").ToString(), webhooks: new WebhookOptions());
        var id = (await review.ListAsync(new(), Ct)).Items.Single().Id;

        var result = await review.EscalateAsync(id, "rita", null, Ct);

        Assert.False(result!.Delivered);
        Assert.Contains("not allowed for host '127.0.0.1'", result.Problem, StringComparison.Ordinal);
        Assert.Contains("ChatPlatform:Webhooks:AllowedHosts", result.Problem, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
        Assert.Equal(SafetyReviewState.Pending, (await review.GetAsync(id, Ct))!.ReviewState);
    }

    [Fact]
    public async Task EscalateAsync_WebhookAnswersErrorText_OnlyTheStatusIsShown()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseOptions.Sqlite);
        await using var server = await TestHttpServer.StartAsync(async (http, _) =>
        {
            http.Response.StatusCode = 502;
            await Microsoft.AspNetCore.Http.HttpResponseWritingExtensions.WriteAsync(http.Response, "upstream admin panel at 10.0.0.7 refused", http.RequestAborted);
        }, Ct);
        await SafetyEventWriter.StoreAsync(database.Factory,
            [new SafetyEvent("web", "c-4", "mindchat", "crisis", SafetySeverity.High, "referral", null, T0)], Ct);
        var review = Review(database, new Uri(server.BaseUri, "/oncall").ToString());
        var id = (await review.ListAsync(new(), Ct)).Items.Single().Id;

        var result = await review.EscalateAsync(id, "rita", null, Ct);

        Assert.False(result!.Delivered);
        Assert.Contains("webhook answered HTTP 502", result.Problem, StringComparison.Ordinal);
        Assert.DoesNotContain("10.0.0.7", result.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task ChannelBindings_AddUpdateRemove_CheckedAndAudited(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var bindings = new ChannelBindings(database.Factory, TestPersonas.Catalog(TestPersonas.Create("mindchat"), TestPersonas.Create("gradchat")), TimeProvider.System);

        var added = await bindings.AddAsync("slack", "T0123", "mindchat", "en", "ada", Ct);
        await Assert.ThrowsAsync<InvalidOperationException>(() => bindings.AddAsync("slack", "T0123", "gradchat", null, "ada", Ct));
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => bindings.AddAsync("teams", "tenant-1", "nobody", null, "ada", Ct));
        var badLocale = await Assert.ThrowsAsync<ArgumentException>(() => bindings.AddAsync("teams", "tenant-1", "gradchat", "fr", "ada", Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => bindings.AddAsync("fax", "1", "gradchat", null, "ada", Ct));
        Assert.True(await bindings.UpdateAsync(added.Id, "gradchat", null, enabled: true, "ada", Ct));
        var found = await bindings.FindAsync("slack", "T0123", Ct);
        Assert.True(await bindings.RemoveAsync(added.Id, "ada", Ct));

        Assert.Contains("'nobody' does not exist", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("no locale 'fr'", badLocale.Message, StringComparison.Ordinal);
        Assert.Equal("gradchat", found!.PersonaId);
        Assert.Empty(await bindings.ListAsync(Ct));
        await using var db = await database.Factory.CreateDbContextAsync(Ct);
        Assert.Equal(["binding.create", "binding.update", "binding.delete"],
            await db.AuditLog.AsNoTracking().OrderBy(a => a.Id).Select(a => a.Action).ToArrayAsync(Ct));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task DashboardGetAsync_SeededDay_CountsPerHourPersonaChannelRailAndFeedback(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        await SeedAsync(database);
        var dashboard = new DashboardQueries(database.Factory, new ManualTime(T0.AddHours(3).AddMinutes(10)));

        var figures = await dashboard.GetAsync(24, Ct);

        Assert.Equal(
            [new HourlyCount(T0, "mindchat", "web", 1, 2), new HourlyCount(T0.AddHours(1), "sunsimiao", "openai", 1, 2), new HourlyCount(T0.AddHours(2), "gradchat", "slack", 1, 2)],
            figures.Hourly);
        Assert.Equal(1, figures.SafetyEventsByRail["crisis"]);
        Assert.Equal(1, figures.SafetyEventsByRail["output"]);
        Assert.Equal((2, 1), (figures.PositiveFeedback, figures.NegativeFeedback));
        Assert.Equal(2.0 / 3, figures.PositiveFeedbackRatio!.Value, 6);
        Assert.Equal(1, figures.OpenHighSeverity);
        Assert.Equal(50 / 3.0, figures.StoredTokensPerSecond!.Value, 6);
        Assert.Empty((await dashboard.GetAsync(1, Ct)).Hourly);
    }
}
