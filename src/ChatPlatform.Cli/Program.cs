using System.Runtime.InteropServices;
using ChatPlatform.Cli;

// Ctrl+C and SIGTERM cancel the running command, so it can remove what it had half-written (a quantised model, a
// fixture) and print "Cancelled."; a command still running 3 s later, or a second Ctrl+C, ends the process at once.
using var cancellation = new CancellationTokenSource();

void Stop(Action keepRunning)
{
    if (cancellation.IsCancellationRequested) return;
    keepRunning();
    cancellation.Cancel();
    _ = Task.Delay(TimeSpan.FromSeconds(3)).ContinueWith(_ => Environment.Exit(130), TaskScheduler.Default);
}

Console.CancelKeyPress += (_, e) => Stop(() => e.Cancel = true);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => Stop(() => context.Cancel = true));

return await CliApp.RunAsync(args, Console.Out, Console.Error, Console.In, cancellation.Token);
