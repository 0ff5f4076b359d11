using ChatPlatform.Inference.Local;
using LLama.Batched;
using LLama.Common;
using LLama.Native;
using LLama.Sampling;
using Xunit;

namespace ChatPlatform.Inference.Tests.Local;

/// <summary>A lane frees a conversation only when llama.cpp has nothing of it left to decode.</summary>
public sealed class InferenceLaneTests(TinyModelFixture fixture) : IClassFixture<TinyModelFixture>
{
    private InferenceLane Lane() => new("", new BatchedExecutor(fixture.Model.Weights, new ModelParams(fixture.Model.Path)
    {
        ContextSize = 1024,
        SeqMax = 4,
        KVUnified = true,
        Threads = 2,
        BatchThreads = 2,
        GpuLayerCount = 0,
    }), new PromptCache(0, 0));

    private LLamaToken[] Tokens(string text) => fixture.Model.Weights.Tokenize(text, true, false, System.Text.Encoding.UTF8);

    [Fact]
    public async Task RetiredWithATokenQueued_KeepsItsSequenceUntilDecoded_AndTheNextConversationDecodes()
    {
        var ct = TestContext.Current.CancellationToken;
        var lane = Lane();
        var executor = lane.Executor;
        using var greedy = new GreedySamplingPipeline();
        var gone = executor.Create();
        gone.Prompt(Tokens("Tell me about scholarships for a master's degree."));
        Assert.Equal(DecodeResult.Ok, await executor.Infer(ct));
        gone.Prompt(gone.Sample(greedy));

        // The client goes away while its next token is queued.
        lane.Retire(gone);
        Assert.False(gone.IsDisposed);

        // A new conversation must not inherit that sequence (and the queued token) meanwhile.
        var next = executor.Create();
        Assert.NotEqual(gone.ConversationId, next.ConversationId);
        next.Prompt(Tokens("Which documents do I need?"));
        Assert.Equal(DecodeResult.Ok, await executor.Infer(ct));
        lane.Decoded();
        Assert.True(gone.IsDisposed);

        next.Prompt(next.Sample(greedy));
        Assert.Equal(DecodeResult.Ok, await executor.Infer(ct));
        lane.Close();
    }

    [Fact]
    public async Task RetiredWithNothingQueued_FreedAtOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var lane = Lane();
        var done = lane.Executor.Create();
        done.Prompt(Tokens("Hello"));
        Assert.Equal(DecodeResult.Ok, await lane.Executor.Infer(ct));

        lane.Retire(done);

        Assert.True(done.IsDisposed);
        lane.Close();
    }
}
