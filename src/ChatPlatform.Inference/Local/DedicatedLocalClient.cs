using ChatPlatform.Core.Configuration;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.Inference.Local;

/// <summary>
/// A model with its own decode loop, for a helper model beside the shared chat model (such as the safety judge):
/// it owns the weights and the engine and releases both when disposed.
/// </summary>
public sealed class DedicatedLocalClient : IChatClient
{
    private readonly LocalModel _model;
    private readonly InferenceEngine _engine;
    private readonly LocalChatClient _client;

    public DedicatedLocalClient(string path, ModelOptions options, ILoggerFactory loggers)
    {
        _model = LocalModel.Load(path, options.EffectiveThreads);
        try
        {
            _engine = new InferenceEngine(_model, options, loggers.CreateLogger<InferenceEngine>());
        }
        catch
        {
            _model.Dispose();
            throw;
        }
        _client = new LocalChatClient(_model, _engine, options, loggers.CreateLogger<LocalChatClient>());
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        _client.GetResponseAsync(messages, options, cancellationToken);

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        _client.GetStreamingResponseAsync(messages, options, cancellationToken);

    public object? GetService(Type serviceType, object? serviceKey = null) => _client.GetService(serviceType, serviceKey);

    public void Dispose()
    {
        _client.Dispose();
        _engine.Dispose();
        _model.Dispose();
    }
}
