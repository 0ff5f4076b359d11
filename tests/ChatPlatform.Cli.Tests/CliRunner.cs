using Xunit;

namespace ChatPlatform.Cli.Tests;

/// <summary>Runs the <c>chatplatform</c> command in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Out, string Error);

    public static Task<Result> RunAsync(params string[] args) => RunWithInputAsync("", args);

    public static async Task<Result> RunWithInputAsync(string input, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await CliApp.RunAsync(args, output, error, new StringReader(input), TestContext.Current.CancellationToken);
        return new Result(code, output.ToString(), error.ToString());
    }
}
