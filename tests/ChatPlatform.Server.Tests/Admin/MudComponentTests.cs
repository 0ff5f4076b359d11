using Bunit;
using MudBlazor.Services;

namespace ChatPlatform.Server.Tests.Admin;

/// <summary>A bUnit context with MudBlazor's services and loose JS interop, as the console's components need.</summary>
public abstract class MudComponentTests : IAsyncDisposable
{
    protected MudComponentTests()
    {
        Context.JSInterop.Mode = JSRuntimeMode.Loose;
        Context.Services.AddMudServices();
    }

    protected BunitContext Context { get; } = new();

    // MudBlazor's services dispose asynchronously only.
    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return Context.DisposeAsync();
    }
}
