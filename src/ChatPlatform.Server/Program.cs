using ChatPlatform.Admin;
using ChatPlatform.Channels;
using ChatPlatform.Server.Chat;
using ChatPlatform.Server.Hosting;

// Settings and the web page come from the build output; relative data paths resolve against the working folder.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddChatPlatform();
builder.AddAdminConsole();

var app = builder.Build();
await app.PrepareChatPlatformAsync();

app.UseClientAddress();
if (!app.Environment.IsDevelopment())
    app.UseHsts();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseChannels();
app.UseRateLimiter();
app.UseAdminConsole();
app.MapChatApi();
app.MapChannels();
app.MapAdminConsole();
app.MapHealthEndpoints();
app.MapMetricsEndpoint();

await app.RunAsync();

/// <summary>Entry point type, visible to the integration tests.</summary>
public partial class Program;
