using System.CommandLine;
using ChatPlatform.Core.Personas;

namespace ChatPlatform.Cli.Commands;

internal static class PackCommands
{
    public static Command Create(CliConsole console)
    {
        var directory = new Argument<string>("DIR") { Description = "Folder holding persona packs (one subfolder each).", DefaultValueFactory = _ => "personas" };
        var validate = new Command("validate", "Check every pack in DIR; list the valid ones, print each problem as path:line: message.") { directory };
        validate.SetAction(parse =>
        {
            var dir = parse.GetValue(directory)!;
            var result = PackLoader.LoadAll(dir);
            foreach (var pack in result.Packs.OrderBy(p => p.Id, StringComparer.Ordinal))
                console.Out.WriteLine($"ok  {pack.Id}  {pack.Name} {pack.Version}  ({string.Join(", ", pack.Locales)})");
            foreach (var problem in result.Problems)
                console.Error.WriteLine(problem.ToString());
            if (result.Problems.Count > 0)
            {
                console.Error.WriteLine($"{result.Problems.Count} problem(s) found.");
                return 1;
            }
            console.Out.WriteLine($"{result.Packs.Count} pack(s) valid.");
            return 0;
        });
        return new Command("packs", "Persona packs.") { validate };
    }
}
