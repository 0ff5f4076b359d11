using ChatPlatform.Cli;

return await CliApp.RunAsync(args, Console.Out, Console.Error, Console.In);
