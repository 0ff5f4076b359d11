using Xunit;
using ChatPlatform.Inference.Local;

namespace ChatPlatform.Inference.Tests.Local;

public sealed class StopSequenceFilterTests
{
    [Fact]
    public void Push_NoStops_ReleasesEverythingAtOnce()
    {
        var filter = new StopSequenceFilter([]);
        Assert.Equal("abc", filter.Push("abc"));
        Assert.False(filter.Stopped);
    }

    [Fact]
    public void Push_StopSplitAcrossChunks_HoldsPrefixThenStopsWithoutReleasingIt()
    {
        var filter = new StopSequenceFilter(["<END>"]);
        Assert.Equal("hello ", filter.Push("hello <E"));
        Assert.Equal("", filter.Push("N"));
        Assert.Equal("", filter.Push("D> more"));
        Assert.True(filter.Stopped);
        Assert.Equal("", filter.Flush());
    }

    [Fact]
    public void Push_PrefixThatDoesNotComplete_IsReleasedLater()
    {
        var filter = new StopSequenceFilter(["<END>"]);
        Assert.Equal("a ", filter.Push("a <E"));
        Assert.Equal("<Ex", filter.Push("x"));
        Assert.Equal("", filter.Push("<"));
        Assert.Equal("<", filter.Flush());
    }

    [Fact]
    public void Push_EarliestOfSeveralStopsWins()
    {
        var filter = new StopSequenceFilter(["\nUser:", "##"]);
        Assert.Equal("answer ", filter.Push("answer ## then\nUser:"));
        Assert.True(filter.Stopped);
    }
}
