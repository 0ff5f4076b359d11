using System.Net;
using Bunit;
using ChatPlatform.Admin.Components.Operations;
using ChatPlatform.Admin.Operations;
using ChatPlatform.Core.Metrics;
using ChatPlatform.Data.Conversations;
using ChatPlatform.Data.Dashboard;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ChatPlatform.Server.Tests.Admin;

/// <summary>bUnit tests of the operations components that compute or hide something: dashboard figures, transcripts, secrets, filters.</summary>
public sealed class OperationsComponentTests : MudComponentTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 9, 0, 0, TimeSpan.Zero);

    private static StoreFigures Store(IReadOnlyDictionary<string, int>? rails = null) => new(
        T0, T0.AddHours(2).AddMinutes(30),
        [new HourlyCount(T0, "mindchat", "web", 2, 6), new HourlyCount(T0.AddHours(2), "gradchat", "slack", 1, 4), new HourlyCount(T0.AddHours(2), "mindchat", "web", 0, 2)],
        rails ?? new Dictionary<string, int> { ["crisis"] = 3, ["pii"] = 5 },
        PositiveFeedback: 2, NegativeFeedback: 1, OpenHighSeverity: 3, StoredTokensPerSecond: 7.25);

    private static ChatMetricsSnapshot Live(int inFlight, double? tps = 12.5) =>
        new(T0.AddHours(2), inFlight, BusyRejections: 4, Replies: 9, TimeToFirstTokenP50Ms: 120.4, TimeToFirstTokenP95Ms: 480, TokensPerSecond: tps);

    private static string Value(IRenderedComponent<DashboardFigures> cut, string id) =>
        WebUtility.HtmlDecode(cut.Find($"[data-testid='{id}-value']").TextContent).Trim();

    [Fact]
    public void DashboardFigures_SixInFlightOnFourSlots_ShowsQueueLatencyFeedbackAndTotals()
    {
        var cut = Context.Render<DashboardFigures>(p => p.Add(c => c.View, new DashboardView(Store(), Live(inFlight: 6), slots: 4)));

        Assert.Equal("4 active, 2 waiting", Value(cut, "fig-queue"));
        Assert.Equal("120 ms / 480 ms", Value(cut, "fig-ttft"));
        Assert.Equal("12.5", Value(cut, "fig-tps"));
        Assert.Equal("67% good (2 good, 1 bad)", Value(cut, "fig-feedback"));
        Assert.Equal("3", Value(cut, "fig-open-high"));
        Assert.Equal("3", Value(cut, "fig-conversations"));
        Assert.Equal("12", Value(cut, "fig-messages"));
        Assert.Contains("4 busy refusals", cut.Find("[data-testid='fig-queue']").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void DashboardFigures_NoLiveRepliesAndNoEvents_FallsBackToStoredRateAndSaysNoData()
    {
        var cut = Context.Render<DashboardFigures>(p => p.Add(c => c.View,
            new DashboardView(Store(new Dictionary<string, int>()), Live(inFlight: 1, tps: null), slots: 4)));

        Assert.Equal("7.3", Value(cut, "fig-tps"));
        Assert.Contains("from stored replies", cut.Find("[data-testid='fig-tps']").TextContent, StringComparison.Ordinal);
        Assert.Equal("1 active, 0 waiting", Value(cut, "fig-queue"));
        Assert.NotNull(cut.Find("[data-testid='chart-rails-empty']"));
        Assert.Empty(cut.FindAll("[data-testid='chart-messages-empty']"));
    }

    [Fact]
    public void MessagesPerHourByPersona_ThreeHourSpan_OneAlignedSeriesPerPersona()
    {
        var chart = new DashboardView(Store(), Live(0), 4).MessagesPerHourByPersona();

        Assert.Equal(["09:00", "10:00", "11:00"], chart.Labels);
        Assert.Equal(["gradchat", "mindchat"], chart.Series.Select(s => s.Name).ToArray());
        Assert.Equal([0, 0, 4], chart.Series[0].Values);
        Assert.Equal([6, 0, 2], chart.Series[1].Values);
    }

    [Fact]
    public void ConversationsPerHourByChannel_DaySpan_LabelsEveryThirdHour()
    {
        var day = Store() with { From = T0.AddHours(-21), To = T0.AddHours(2).AddMinutes(30) };

        var chart = new DashboardView(day, Live(0), 4).ConversationsPerHourByChannel();

        Assert.Equal(24, chart.Labels.Count);
        Assert.Equal(["12:00", "", "", "15:00"], chart.Labels.Take(4).ToArray());
        Assert.Equal(["slack", "web"], chart.Series.Select(s => s.Name).ToArray());
        Assert.Equal(2, chart.Series[1].Values[21]);
    }

    [Fact]
    public void TranscriptView_MessagesWithVerdictsAndEvents_ShowsThemOnTheirMessageAndMarksTheReviewedEvent()
    {
        var crisis = new SafetyEventView(41, 1, "web", "c1", "mindchat", "crisis", "High", "referral", null, T0, "pending", null, null, null);
        var transcript = new Transcript(
            new ConversationSummary(1, "web", "c1", "mindchat", "en", "u1", 2, true, true, false, T0, T0),
            [
                new TranscriptMessage(10, 1, "user", "I can't go on", T0, null, null, null, ["crisis:engaged", "pii:redacted"], [crisis], null),
                new TranscriptMessage(11, 2, "assistant", "Please call 988", T0, 12, 40, "safety", [], [], -1),
            ]);

        var cut = Context.Render<TranscriptView>(p => p.Add(c => c.Transcript, transcript).Add(c => c.HighlightEvent, 41));

        var first = cut.Find("[data-testid='message-1']");
        Assert.Equal(["crisis:engaged", "pii:redacted"], first.QuerySelectorAll("[data-testid='verdict']").Select(e => e.TextContent.Trim()).ToArray());
        Assert.Contains("crisis: referral (High, pending)", first.QuerySelector("[data-testid='event']")!.TextContent, StringComparison.Ordinal);
        Assert.Contains("border", first.GetAttribute("style"), StringComparison.Ordinal);
        var second = cut.Find("[data-testid='message-2']");
        Assert.Equal("safety", second.QuerySelector("[data-testid='finish']")!.TextContent.Trim());
        Assert.Equal("rated bad", second.QuerySelector("[data-testid='rating']")!.TextContent.Trim());
        Assert.DoesNotContain("border", second.GetAttribute("style") ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public void SecretList_ConfiguredSecrets_RendersOnlyMaskedValues()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ChatPlatform:DirectLine:Secrets:0"] = "directline-secret-number-one-AAAA",
            ["ChatPlatform:Slack:BotToken"] = "xoxb-short",
            ["ChatPlatform:Slack:Persona"] = "gradchat",
            ["ChatPlatform:Remote:ApiKey"] = "",
        }).Build();
        var secrets = Secrets.Find(configuration);

        var cut = Context.Render<SecretList>(p => p.Add(c => c.Items, secrets));

        Assert.Equal(["ChatPlatform:DirectLine:Secrets:0", "ChatPlatform:Slack:BotToken"], secrets.Select(s => s.Key).ToArray());
        var values = cut.FindAll("[data-testid='secret-value']").Select(e => WebUtility.HtmlDecode(e.TextContent)).ToArray();
        Assert.Equal(["••••••••AAAA", "••••••••"], values);
        Assert.DoesNotContain("directline-secret", cut.Markup, StringComparison.Ordinal);
        Assert.DoesNotContain("xoxb", cut.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public void SecretList_Nothing_SaysSo()
    {
        var cut = Context.Render<SecretList>(p => p.Add(c => c.Items, []));

        Assert.NotNull(cut.Find("[data-testid='secrets-none']"));
    }

    [Fact]
    public void ConversationSearchForm_DayRange_CoversBothDaysWholeAndBlankFieldsAreNoFilter()
    {
        var form = new ConversationSearchForm
        {
            Persona = " ", Channel = "slack", Flag = ConversationMark.Blocked, UserId = "  u-1 ",
            FromDay = new DateTime(2026, 11, 28), ToDay = new DateTime(2026, 11, 29),
        };

        var filter = form.ToFilter(page: 2, pageSize: 50);

        Assert.Null(form.Problem);
        Assert.Equal(new ConversationFilter(null, "slack", new DateTimeOffset(2026, 11, 28, 0, 0, 0, TimeSpan.Zero),
            new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero).AddTicks(-1), ConversationMark.Blocked, "u-1", 2, 50), filter);
    }

    [Fact]
    public void ConversationSearchForm_RangeBackwards_NamesTheProblem()
    {
        var form = new ConversationSearchForm { FromDay = new DateTime(2026, 11, 29), ToDay = new DateTime(2026, 11, 28) };

        Assert.Equal("The date range ends before it starts.", form.Problem);
    }
}
