using System.Net;
using System.Net.Sockets;

namespace ChatPlatform.Server.Tests;

/// <summary>
/// Passes TCP connections from a local port on to <c>target</c>, and can be cut: while cut, every open connection is
/// closed and new ones are closed as soon as they arrive, as when the server behind it stops. A shared server stands in
/// for a stopped one this way without being stopped.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _open = [];
    private readonly Task _accepting;
    private volatile bool _cut;

    public TcpRelay(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public void Cut()
    {
        _cut = true;
        lock (_open)
        {
            foreach (var client in _open) client.Dispose();
            _open.Clear();
        }
    }

    public void Restore() => _cut = false;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient incoming;
            try
            {
                incoming = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            if (_cut)
            {
                incoming.Dispose();
                continue;
            }
            _ = RelayAsync(incoming);
        }
    }

    private async Task RelayAsync(TcpClient incoming)
    {
        var outgoing = new TcpClient();
        lock (_open)
        {
            _open.Add(incoming);
            _open.Add(outgoing);
        }
        try
        {
            await outgoing.ConnectAsync(_targetHost, _targetPort, _stop.Token);
            var a = incoming.GetStream();
            var b = outgoing.GetStream();
            await Task.WhenAny(a.CopyToAsync(b, _stop.Token), b.CopyToAsync(a, _stop.Token));
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
        }
        finally
        {
            incoming.Dispose();
            outgoing.Dispose();
            lock (_open)
            {
                _open.Remove(incoming);
                _open.Remove(outgoing);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        await _accepting;
        _stop.Dispose();
    }
}
