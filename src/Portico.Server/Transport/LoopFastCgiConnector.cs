using System.Net;
using System.Net.Sockets;
using Portico.FastCgi.Client;

namespace Portico.Server.Transport;

/// <summary>FastCGI connections on an event loop: the pool's own loop (<paramref name="loop"/>), or for a pool
/// the loops share, the loop of the request that opens them. Either way the backend's answer wakes the thread
/// that will write it to the client.</summary>
internal sealed class LoopFastCgiConnector(EpollLoopGroup loops, int loop) : FastCgiConnector
{
    /// <summary>
    /// The pools' hand-off dispatcher: on a loop, a request waiting for a returned connection runs after the events in
    /// hand (the returning request's response is sent first); off the loops, at once.
    /// </summary>
    public static void PostToCurrentLoop(Action<object?> action, object? state)
    {
        if (EpollLoop.Current is { } current)
        {
            current.Post(action, state);
        }
        else
        {
            action(state);
        }
    }

    public override async ValueTask<FastCgiSocket> ConnectAsync(EndPoint target, CancellationToken cancellationToken)
    {
        var (socket, failure) = await TryConnectAsync(target, cancellationToken).ConfigureAwait(false);
        return socket ?? throw failure!;
    }

    // errno to SocketException without a throw: the refusal goes up to the 502 as a value.
    public override async ValueTask<(FastCgiSocket? Socket, SocketException? Failure)> TryConnectAsync(EndPoint target, CancellationToken cancellationToken)
    {
        var (socket, errno) = await LoopSocket.TryConnectAsync(target, loop >= 0 ? loops.Loops[loop] : loops.Pick(), cancellationToken).ConfigureAwait(false);
        return socket is null
            ? (null, SocketErrors.Exception(errno))
            : (new Connection(socket, tcp: target is not UnixDomainSocketEndPoint), null);
    }

    private sealed class Connection(LoopSocket socket, bool tcp) : FastCgiSocket
    {
        public override void AcknowledgeNow()
        {
            if (tcp)
            {
                socket.AcknowledgeNow();
            }
        }

        public override void EnableKeepAlive()
        {
            if (tcp)
            {
                socket.EnableKeepAlive();
            }
        }

        public override ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
            socket.ReceiveAsync(buffer, cancellationToken);

        public override ValueTask<int> SendAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken) =>
            socket.SendAsync(buffer, cancellationToken);

        public override bool IsOpen => !socket.IsClosed;

        public override bool HasInputOrClosed() => socket.HasInputOrClosed();

        public override void Dispose() => socket.Dispose();
    }
}
