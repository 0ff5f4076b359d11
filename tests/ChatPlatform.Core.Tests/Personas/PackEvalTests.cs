using ChatPlatform.Core.Personas;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Core.Tests.Personas;

public sealed class PackEvalTests : IDisposable
{
    private const string File = "evals/extra.jsonl";
    private readonly TempPack _pack = TempPack.CopyOf("mindchat");

    public void Dispose() => _pack.Dispose();

    private PackLoadResult LoadWith(params string[] lines)
    {
        _pack.Write(File, string.Join('\n', lines) + "\n");
        return PackLoader.Load(_pack.Directory);
    }

    private const string Valid = """{"id":"x1","locale":"en","turns":[{"user":"hello"}],"expect":{"rail":"none"}}""";

    [Fact]
    public void Load_ValidEvals_AreParsed()
    {
        var result = LoadWith(
            Valid,
            "",
            """{"id":"x2","locale":"zh-CN","turns":[{"user":"a"},{"assistant":"b"},{"user":"c"}],"expect":{"rail":"crisis","contains_any":["12356"],"not_contains":["x"]},"note":"why"}""");

        ProblemAssert.None(result.Problems);
        var x2 = Assert.Single(result.Pack!.Evals, e => e.Id == "x2");
        Assert.Equal("zh-CN", x2.Locale);
        Assert.Equal([new EvalTurn("user", "a"), new EvalTurn("assistant", "b"), new EvalTurn("user", "c")], x2.Turns);
        Assert.Equal("crisis", x2.Expect.Rail);
        Assert.Equal(["12356"], x2.Expect.ContainsAny);
        Assert.Equal(["x"], x2.Expect.NotContains);
        Assert.Equal("why", x2.Note);
        Assert.Equal(3, x2.Line);
        Assert.Equal(_pack.PathOf(File), x2.File);
    }

    [Theory]
    [InlineData("""{"id":"x2","locale":"en","turns":[{"user":"hi"}],"expect":{"rail":"none"}""", "invalid JSON")]
    [InlineData("""["not", "an", "object"]""", "each line must be one JSON object")]
    [InlineData("""{"locale":"en","turns":[{"user":"hi"}],"expect":{"rail":"none"}}""", "id is required")]
    [InlineData("""{"id":"x2","locale":"fr","turns":[{"user":"hi"}],"expect":{"rail":"none"}}""", "eval 'x2': locale 'fr' is not one of the pack's locales")]
    [InlineData("""{"id":"x2","locale":"en","turns":[],"expect":{"rail":"none"}}""", "turns must be a non-empty list")]
    [InlineData("""{"id":"x2","locale":"en","turns":[{"user":"hi","assistant":"yo"}],"expect":{"rail":"none"}}""", "turns[0] must be")]
    [InlineData("""{"id":"x2","locale":"en","turns":[{"user":"hi"},{"assistant":"yo"}],"expect":{"rail":"none"}}""", "the last turn must be a user turn")]
    [InlineData("""{"id":"x2","locale":"en","turns":[{"user":"hi"}]}""", "eval 'x2': expect is required")]
    [InlineData("""{"id":"x2","locale":"en","turns":[{"user":"hi"}],"expect":{}}""", "expect needs at least one of")]
    [InlineData("""{"id":"x2","locale":"en","turns":[{"user":"hi"}],"expect":{"rail":"suicide"}}""", "unknown rail 'suicide'")]
    [InlineData("""{"id":"x2","locale":"en","turns":[{"user":"hi"}],"expect":{"rail":"medical_emergency"}}""", "the pack does not enable rail 'medical_emergency'")]
    [InlineData("""{"id":"x2","locale":"en","turns":[{"user":"hi"}],"expect":{"contains_any":[]}}""", "expect.contains_any must be a non-empty list")]
    [InlineData("""{"id":"x2","locale":"en","turns":[{"user":"hi"}],"expect":{"contains":["a"]}}""", "unknown key 'expect.contains'")]
    [InlineData("""{"id":"x2","locale":"en","turns":[{"user":"hi"}],"expect":{"rail":"none"},"tags":["a"]}""", "unknown key 'tags'")]
    [InlineData("""{"id":"x1","locale":"en","turns":[{"user":"hi"}],"expect":{"rail":"none"}}""", "duplicate eval id 'x1'")]
    public void Load_BadEvalLine_ReportsFileAndLine(string line, string fragment)
    {
        var result = LoadWith(Valid, line);

        Assert.Null(result.Pack);
        ProblemAssert.Has(result.Problems, _pack.ProblemPath(File), 2, fragment);
    }
}
