using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace Portico.Server.Transport;

/// <summary>
/// Kestrel's transport on Portico's own event loops (Linux). It binds through the same socket factory as the
/// socket transport (<see cref="ListenSocketFactory"/>), so the listening sockets are the same; only who waits
/// on them changes, and <c>backlog=</c> is honoured per socket.
/// </summary>
internal sealed class LoopTransportFactory(EpollLoopGroup loops, ListenSocketFactory sockets, IMemoryPoolFactory<byte> pools) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly MemoryPool<byte> _pool = pools.Create(new MemoryPoolOptions());

    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint or UnixDomainSocketEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        Socket socket;
        try
        {
            socket = sockets.Bind(endpoint);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new AddressInUseException(ex.Message, ex);
        }

        try
        {
            socket.Listen(sockets.Backlog(endpoint));
            socket.Blocking = false;
            return new ValueTask<IConnectionListener>(new LoopListener(socket, loops, _pool));
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            throw new AddressInUseException(ex.Message, ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
