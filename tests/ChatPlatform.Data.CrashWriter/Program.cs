using ChatPlatform.Core.Chat;
using ChatPlatform.Core.Configuration;
using ChatPlatform.Data;
using ChatPlatform.Data.Conversations;

// Writes messages through the store as fast as it can and prints "ack N" once message N is durably stored,
// so a test can kill this process at any moment and check that every acknowledged message survived.
// Usage: ChatPlatform.Data.CrashWriter <Sqlite|Postgres> <data directory or connection string> <conversations>
if (args.Length != 3)
{
    await Console.Error.WriteLineAsync("usage: ChatPlatform.Data.CrashWriter <Sqlite|Postgres> <data-dir|connection-string> <conversations>");
    return 2;
}

var database = new DatabaseOptions { Provider = args[0] };
if (database.IsPostgres) database.ConnectionString = args[1];
var conversations = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);

var factory = new ChatDbContextFactory(database, dataDirectory: database.IsPostgres ? "data" : args[1]);
await ChatDatabase.MigrateAsync(factory);
var store = new EfConversationStore(factory);
for (var c = 0; c < conversations; c++)
    await store.OpenAsync("crash", $"c{c}", "testbot", "en", "crash-user", CancellationToken.None);

var stdout = Console.Out;
stdout.WriteLine("ready");
stdout.Flush();
var counter = 0;
var writers = Enumerable.Range(0, conversations).Select(async c =>
{
    await Task.Yield();
    for (var i = 1; ; i++)
    {
        var text = $"c{c} m{i}";
        await store.AppendAsync("crash", $"c{c}", new StoredMessage("user", text, DateTimeOffset.UtcNow), null, CancellationToken.None);
        lock (stdout)
        {
            stdout.WriteLine($"ack {text}");
            stdout.Flush();
        }
        Interlocked.Increment(ref counter);
    }
}).ToList();
await Task.WhenAll(writers);
return 0;
