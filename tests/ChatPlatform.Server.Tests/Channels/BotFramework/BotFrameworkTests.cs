using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using ChatPlatform.Channels.BotFramework;
using ChatPlatform.Core.Chat;
using ChatPlatform.Data.Channels;
using ChatPlatform.Testing;
using Microsoft.Bot.Schema;
using Microsoft.EntityFrameworkCore;
using Newtonsoft.Json.Linq;
using Xunit;

namespace ChatPlatform.Server.Tests.Channels.BotFramework;

public sealed class BotFrameworkTests : IClassFixture<BotFrameworkFixture>
{
    private readonly BotFrameworkFixture fixture;

    public BotFrameworkTests(BotFrameworkFixture fixture)
    {
        this.fixture = fixture;
        fixture.Model.Inner = new ScriptedChatClient("Hello from the persona.");
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<int> StoredConversationsAsync(string conversationId)
    {
        await using var db = await fixture.DbAsync();
        return await db.Conversations.CountAsync(c => c.ExternalId.EndsWith("|" + conversationId), Ct);
    }

    private async Task<string?> StoredPersonaAsync(string conversationId)
    {
        await using var db = await fixture.DbAsync();
        return await db.Conversations.Where(c => c.ExternalId.EndsWith("|" + conversationId)).Select(c => c.PersonaId).SingleOrDefaultAsync(Ct);
    }

    [Fact]
    public async Task PostActivity_ValidChannelToken_PersonaReplyPostedToServiceUrlAndStored()
    {
        fixture.Model.Inner = new ScriptedChatClient("Hello ", "from the persona.");

        var response = await fixture.PostAsync(fixture.Message("auth-ok", "hi there", conversationType: "groupChat"), fixture.Token());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = fixture.Sent("auth-ok");
        var reply = Assert.Single(sent, s => s.Activity.GetProperty("type").GetString() == "message");
        Assert.Equal("Hello from the persona.", reply.Activity.GetProperty("text").GetString());
        Assert.Equal("Bearer " + BotFrameworkFixture.OutboundToken, reply.Request.Header("Authorization"));
        Assert.Equal("POST", reply.Request.Method);
        await using var db = await fixture.DbAsync();
        var conversation = await db.Conversations.SingleAsync(c => c.Channel == "bf-msteams" && c.ExternalId.EndsWith("|auth-ok"), Ct);
        Assert.Equal(2, await db.Messages.CountAsync(m => m.ConversationId == conversation.Id, Ct));
    }

    [Fact]
    public async Task PostActivity_SameActivityDeliveredTwice_AnsweredAndStoredOnce()
    {
        var model = new ScriptedChatClient("Answered once.");
        fixture.Model.Inner = model;
        var activity = fixture.Message("redelivered", "hi there", conversationType: "groupChat");

        var first = await fixture.PostAsync(activity, fixture.Token());
        var again = await fixture.PostAsync(activity, fixture.Token());

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Single(model.Calls);
        Assert.Single(fixture.SentMessages("redelivered"));
        await using var db = await fixture.DbAsync();
        var conversation = await db.Conversations.SingleAsync(c => c.ExternalId.EndsWith("|redelivered"), Ct);
        Assert.Equal(2, await db.Messages.CountAsync(m => m.ConversationId == conversation.Id, Ct));
        Assert.True(await db.Deliveries.AnyAsync(d => d.Channel == "bf-msteams" && d.DeliveryId == "redelivered|" + activity.Id, Ct));
    }

    public static TheoryData<string> BadTokens => ["none", "signed-by-another-key", "expired", "wrong-audience", "other-service-url", "garbage"];

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task PostActivity_BadToken_401AndNothingStoredOrSent(string kind)
    {
        using var otherKey = RSA.Create(2048);
        var conversation = "auth-bad-" + kind;
        var token = kind switch
        {
            "none" => null,
            "signed-by-another-key" => fixture.Identity.CreateToken(BotFrameworkFixture.AppId, fixture.ServiceUrl, signingKey: otherKey),
            "expired" => fixture.Identity.CreateToken(BotFrameworkFixture.AppId, fixture.ServiceUrl, expires: DateTime.UtcNow.AddMinutes(-30)),
            "wrong-audience" => fixture.Identity.CreateToken("another-bot-app-id", fixture.ServiceUrl),
            "other-service-url" => fixture.Identity.CreateToken(BotFrameworkFixture.AppId, "https://elsewhere.example/"),
            _ => "not-a-jwt",
        };

        var response = await fixture.PostAsync(fixture.Message(conversation, "hi"), token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(fixture.Sent(conversation));
        Assert.Equal(0, await StoredConversationsAsync(conversation));
    }

    [Theory]
    [InlineData("{\"type\":\"message\",", "not a valid activity")]
    [InlineData("[1,2]", "not a valid activity")]
    [InlineData("{\"text\":\"hi\",\"conversation\":{\"id\":\"c\"},\"serviceUrl\":\"http://127.0.0.1/\"}", "no 'type'")]
    [InlineData("{\"type\":\"message\",\"serviceUrl\":\"http://127.0.0.1/\"}", "no 'conversation.id'")]
    [InlineData("{\"type\":\"message\",\"conversation\":{\"id\":\"c\"}}", "no 'serviceUrl'")]
    [InlineData("{\"type\":\"message\",\"conversation\":{\"id\":\"c\"},\"serviceUrl\":\"ftp://x/\"}", "absolute http(s) URL")]
    [InlineData("", "empty")]
    public async Task PostActivity_MalformedActivity_400NamingTheProblem(string body, string expected)
    {
        var response = await fixture.PostRawAsync(body, fixture.Token());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;
        Assert.Contains(expected, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostActivity_BodyOverTheLimit_413()
    {
        var activity = fixture.Message("big-1", new string('x', BotFrameworkEndpoint.MaxBodyBytes));

        var response = await fixture.PostAsync(activity, fixture.Token());

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(0, await StoredConversationsAsync("big-1"));
    }

    [Fact]
    public async Task PostActivity_ReactionWithdrawn_FeedbackRemoved()
    {
        await fixture.PostAsync(fixture.Message("unreact-1", "hello", conversationType: "groupChat"), fixture.Token());
        var replyId = "srv-" + fixture.Channel.Requests.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var reaction = fixture.Message("unreact-1", "");
        reaction.Type = ActivityTypes.MessageReaction;
        reaction.Text = null;
        reaction.ReplyToId = replyId;
        reaction.ReactionsAdded = [new MessageReaction("sad")];
        await fixture.PostAsync(reaction, fixture.Token());
        await using (var db = await fixture.DbAsync())
            Assert.Equal(-1, await db.Feedback.Where(f => db.Conversations.Any(c => c.Id == f.ConversationId && c.ExternalId.EndsWith("|unreact-1"))).Select(f => f.Rating).SingleAsync(Ct));

        reaction.ReactionsAdded = null;
        reaction.ReactionsRemoved = [new MessageReaction("sad")];
        await fixture.PostAsync(reaction, fixture.Token());

        await using var after = await fixture.DbAsync();
        Assert.False(await after.Feedback.AnyAsync(f => after.Conversations.Any(c => c.Id == f.ConversationId && c.ExternalId.EndsWith("|unreact-1")), Ct));
    }

    [Fact]
    public async Task PostActivity_PersonaInRoute_AnsweredByThatPersona()
    {
        var response = await fixture.PostAsync(fixture.Message("route-1", "hello"), fixture.Token(), "/api/messages/gradchat");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("gradchat", await StoredPersonaAsync("route-1"));
    }

    [Fact]
    public async Task PostActivity_UnknownPersonaInRoute_404ListsPersonas()
    {
        var response = await fixture.PostAsync(fixture.Message("route-2", "hello"), fixture.Token(), "/api/messages/nobody");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("mindchat", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(0, await StoredConversationsAsync("route-2"));
    }

    [Fact]
    public async Task PostActivity_TeamsTenantBound_AnsweredByTheBoundPersona()
    {
        await using (var db = await fixture.DbAsync())
        {
            db.ChannelBindings.Add(new ChannelBindingRecord { Channel = "teams", EndpointId = "tenant-bound-1", PersonaId = "sunsimiao", CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync(Ct);
        }
        var activity = fixture.Message("bound-1", "hello");
        activity.ChannelData = new JObject { ["tenant"] = new JObject { ["id"] = "tenant-bound-1" } };

        await fixture.PostAsync(activity, fixture.Token());

        Assert.Equal("sunsimiao", await StoredPersonaAsync("bound-1"));
    }

    [Fact]
    public async Task PostActivity_SlackTeamBound_AnsweredByTheBoundPersona()
    {
        await using (var db = await fixture.DbAsync())
        {
            db.ChannelBindings.Add(new ChannelBindingRecord { Channel = "slack", EndpointId = "T0BOUND", PersonaId = "gradchat", CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync(Ct);
        }
        var activity = fixture.Message("B01:T0BOUND:C01", "hello", channelId: "slack");

        await fixture.PostAsync(activity, fixture.Token());

        Assert.Equal("gradchat", await StoredPersonaAsync("B01:T0BOUND:C01"));
    }

    [Fact]
    public async Task PostActivity_PersonaCommand_RememberedForTheConversation()
    {
        var first = await fixture.PostAsync(fixture.Message("cmd-1", "/persona sunsimiao"), fixture.Token());
        await fixture.PostAsync(fixture.Message("cmd-1", "what helps with a cold?"), fixture.Token());
        await fixture.PostAsync(fixture.Message("cmd-1", "/persona nobody"), fixture.Token());

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("sunsimiao", await StoredPersonaAsync("cmd-1"));
        var texts = fixture.SentMessages("cmd-1").Select(m => m.GetProperty("text").GetString()).ToList();
        Assert.Contains("(sunsimiao) answers in this conversation", texts[0], StringComparison.Ordinal);
        Assert.Contains("Unknown persona 'nobody'", texts[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostActivity_TeamsMention_StrippedBeforeThePersonaSeesIt()
    {
        var model = new ScriptedChatClient("ok");
        fixture.Model.Inner = model;
        var activity = fixture.Message("mention-1", "<at>Persona Bot</at> how do I plan my thesis?", conversationType: "channel");
        activity.Entities = [new Entity("mention") { Properties = JObject.FromObject(new { mentioned = new { id = activity.Recipient.Id, name = "Persona Bot" }, text = "<at>Persona Bot</at>" }) }];

        await fixture.PostAsync(activity, fixture.Token());

        var call = Assert.Single(model.Calls);
        // The question may follow the persona's knowledge passages in the prompt; the mention must be gone either way.
        var sent = call.Messages[^1].Text;
        Assert.True(sent == "how do I plan my thesis?" || sent.EndsWith("\nQuestion: how do I plan my thesis?", StringComparison.Ordinal), sent);
    }

    [Fact]
    public async Task PostActivity_MembersAdded_GreetingInTheUsersLocale()
    {
        var activity = fixture.Message("greet-1", "");
        activity.Type = ActivityTypes.ConversationUpdate;
        activity.Text = null;
        activity.Locale = "zh-CN";
        activity.MembersAdded = [new ChannelAccount("user-new", "New User")];

        var response = await fixture.PostAsync(activity, fixture.Token(), "/api/messages/mindchat");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var greeting = Assert.Single(fixture.SentMessages("greet-1"));
        Assert.StartsWith("你好，我是漫谈", greeting.GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostActivity_LongAnswerInTeamsOneToOne_StreamedWithStreamInfoThenFinal()
    {
        fixture.Model.Inner = new ScriptedChatClient("One ", "two ", "three ", "four ", "five ", "six.") { ChunkDelay = TimeSpan.FromMilliseconds(450) };

        await fixture.PostAsync(fixture.Message("stream-1", "tell me a story"), fixture.Token());

        var sent = fixture.Sent("stream-1");
        var streamed = sent.Where(s => s.Activity.GetProperty("type").GetString() == "typing" && s.Activity.TryGetProperty("entities", out _)).ToList();
        Assert.True(streamed.Count >= 1, "the long answer was not streamed");
        var infos = streamed.Select(s => s.Activity.GetProperty("entities").EnumerateArray().Single(e => e.GetProperty("type").GetString() == "streaminfo")).ToList();
        Assert.All(infos, i => Assert.Equal("streaming", i.GetProperty("streamType").GetString()));
        Assert.Equal(Enumerable.Range(1, infos.Count), infos.Select(i => i.GetProperty("streamSequence").GetInt32()));
        var texts = streamed.Select(s => s.Activity.GetProperty("text").GetString()!).ToList();
        for (var i = 1; i < texts.Count; i++)
            Assert.StartsWith(texts[i - 1], texts[i], StringComparison.Ordinal);
        // The first update's id (from the channel) names the stream in every later update and in the final message.
        var final = Assert.Single(sent, s => s.Activity.GetProperty("type").GetString() == "message").Activity;
        Assert.Equal("One two three four five six.", final.GetProperty("text").GetString());
        var finalInfo = final.GetProperty("entities").EnumerateArray().Single(e => e.GetProperty("type").GetString() == "streaminfo");
        Assert.Equal("final", finalInfo.GetProperty("streamType").GetString());
        var firstId = finalInfo.GetProperty("streamId").GetString();
        Assert.StartsWith("srv-", firstId, StringComparison.Ordinal);
        Assert.All(infos.Skip(1), i => Assert.Equal(firstId, i.GetProperty("streamId").GetString()));
        Assert.False(infos[0].TryGetProperty("streamId", out _));
    }

    [Fact]
    public async Task PostActivity_LongAnswerInGroupChat_OneFinalMessageNoStream()
    {
        fixture.Model.Inner = new ScriptedChatClient("One ", "two ", "three.") { ChunkDelay = TimeSpan.FromMilliseconds(300) };

        await fixture.PostAsync(fixture.Message("nostream-1", "tell me a story", conversationType: "groupChat"), fixture.Token());

        var sent = fixture.Sent("nostream-1");
        Assert.Contains(sent, s => s.Activity.GetProperty("type").GetString() == "typing");
        Assert.DoesNotContain(sent, s => s.Activity.TryGetProperty("entities", out _));
        var final = Assert.Single(sent, s => s.Activity.GetProperty("type").GetString() == "message");
        Assert.Equal("One two three.", final.Activity.GetProperty("text").GetString());
    }

    [Fact]
    public async Task PostActivity_ReactionToAReply_StoredAsFeedbackOnThatMessage()
    {
        fixture.Model.Inner = new ScriptedChatClient("A reply to rate.");
        await fixture.PostAsync(fixture.Message("react-1", "hello", conversationType: "groupChat"), fixture.Token());
        // The channel service numbers what it receives; the reply was the last thing sent.
        var replyId = "srv-" + fixture.Channel.Requests.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var reaction = fixture.Message("react-1", "");
        reaction.Type = ActivityTypes.MessageReaction;
        reaction.Text = null;
        reaction.ReplyToId = replyId;
        reaction.ReactionsAdded = [new MessageReaction("like")];

        var response = await fixture.PostAsync(reaction, fixture.Token());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var db = await fixture.DbAsync();
        var conversation = await db.Conversations.SingleAsync(c => c.ExternalId.EndsWith("|react-1"), Ct);
        var feedback = await db.Feedback.SingleAsync(f => f.ConversationId == conversation.Id, Ct);
        Assert.Equal(1, feedback.Rating);
        var reply = await db.Messages.Where(m => m.ConversationId == conversation.Id && m.Role == "assistant").SingleAsync(Ct);
        Assert.Equal(reply.Id, feedback.MessageId);
    }

    [Fact]
    public async Task PostActivity_InferenceBusy_PoliteReplyWithSecondsAndNothingStored()
    {
        fixture.Model.Inner = new ScriptedChatClient("unused") { FailWith = ChatRejectedException.Busy("All lanes are busy.", TimeSpan.FromSeconds(7)) };

        var response = await fixture.PostAsync(fixture.Message("busy-1", "hello", user: "busy-user"), fixture.Token());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reply = Assert.Single(fixture.SentMessages("busy-1"));
        Assert.Equal("Sorry, I am busy right now. Please try again in 7 seconds.", reply.GetProperty("text").GetString());
        await using var db = await fixture.DbAsync();
        Assert.False(await db.Messages.AnyAsync(m => db.Conversations.Any(c => c.Id == m.ConversationId && c.ExternalId.EndsWith("|busy-1")), Ct));
    }

    [Fact]
    public async Task PostActivity_CrisisMessage_CrisisProtocolReplyFlagAndEventWithoutModel()
    {
        var model = new ScriptedChatClient("model text") { FailWith = new InvalidOperationException("the model was called") };
        fixture.Model.Inner = model;
        var activity = fixture.Message("crisis-1", "我 不 想 活 了。。。", conversationType: "groupChat");
        activity.Locale = "zh-CN";

        await fixture.PostAsync(activity, fixture.Token(), "/api/messages/mindchat");

        var reply = Assert.Single(fixture.SentMessages("crisis-1"));
        Assert.Contains("12356", reply.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Empty(model.Calls);
        await using var db = await fixture.DbAsync();
        var conversation = await db.Conversations.SingleAsync(c => c.ExternalId == "mindchat|crisis-1", Ct);
        Assert.True(conversation.CrisisEngaged);
        // Safety events reach the store through a background writer.
        var stored = false;
        for (var i = 0; i < 50 && !stored; i++)
        {
            stored = await db.SafetyEvents.AnyAsync(e => e.ExternalConversationId == "mindchat|crisis-1", Ct);
            if (!stored) await Task.Delay(100, Ct);
        }
        Assert.True(stored, "no safety event was stored");
    }

    [Fact]
    public async Task PostActivity_BotFailsMidTurn_ApologyAnd200NotA500()
    {
        fixture.Model.Inner = new ScriptedChatClient("unused") { FailWith = new InvalidOperationException("model crashed") };

        var response = await fixture.PostAsync(fixture.Message("fail-1", "hello", user: "fail-user"), fixture.Token());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reply = Assert.Single(fixture.SentMessages("fail-1"));
        Assert.StartsWith("Sorry, something went wrong", reply.GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostActivity_UserOverTheLimit_AskedToWaitWithoutAModelCall()
    {
        var model = new ScriptedChatClient("ok");
        fixture.Model.Inner = model;

        for (var i = 0; i < 4; i++)
            await fixture.PostAsync(fixture.Message("limit-1", $"message {i}", user: "fast-user"), fixture.Token());

        Assert.Equal(3, model.Calls.Count);
        var last = fixture.SentMessages("limit-1")[^1];
        Assert.StartsWith("You are sending messages faster than I can answer", last.GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostActivity_QuestionAnsweredByPackDocument_FinalReplyHasSourcesFooter()
    {
        fixture.Model.Inner = new ScriptedChatClient("Apply by 30 June [1].");

        await fixture.PostAsync(fixture.Message("cite-1", "When is the application deadline for the September intake?", conversationType: "groupChat"),
            fixture.Token(), "/api/messages/gradchat");

        var text = Assert.Single(fixture.SentMessages("cite-1")).GetProperty("text").GetString()!;
        Assert.StartsWith("Apply by 30 June [1].\n\n———\n\n1. ", text, StringComparison.Ordinal);
        Assert.Contains("1. [Sample University Graduate Admissions Guide", text, StringComparison.Ordinal);
        Assert.Contains("](https://example.edu/graduate/admissions)", text, StringComparison.Ordinal);
    }

    [Fact]
    public void StoreConversationId_LongTeamsId_HashedToFitTheStore()
    {
        var id = PersonaBot.StoreConversationId("mindchat", "19:" + new string('a', 200) + "@thread.tacv2;messageid=1");

        Assert.True(id.Length <= ChatOrchestrator.MaxConversationIdLength);
        Assert.StartsWith("mindchat|", id, StringComparison.Ordinal);
        Assert.NotEqual(id, PersonaBot.StoreConversationId("gradchat", "19:" + new string('a', 200) + "@thread.tacv2;messageid=1"));
    }
}
