using ChatPlatform.Core.Personas;
using Xunit;

namespace ChatPlatform.Core.Tests.Personas;

internal static class ProblemAssert
{
    /// <summary>Asserts that a problem with this path and line whose message contains <paramref name="fragment"/> exists.</summary>
    public static PackProblem Has(IReadOnlyList<PackProblem> problems, string path, int line, string fragment)
    {
        var match = problems.FirstOrDefault(p =>
            p.Path == path && p.Line == line && p.Message.Contains(fragment, StringComparison.Ordinal));
        if (match is null)
            Assert.Fail($"Expected a problem {path}:{line}: ...{fragment}... but got:{Environment.NewLine}{List(problems)}");
        return match;
    }

    public static void None(IReadOnlyList<PackProblem> problems)
    {
        if (problems.Count > 0)
            Assert.Fail($"Expected no problems but got:{Environment.NewLine}{List(problems)}");
    }

    private static string List(IReadOnlyList<PackProblem> problems) =>
        problems.Count == 0 ? "  (none)" : string.Join(Environment.NewLine, problems.Select(p => "  " + p));
}
