using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace Portico.Server.Transport;

/// <summary>
/// Kestrel's transport on Portico's own event loops (Linux). It binds through the same socket factory as the
/// socket transport did (IPV6_V6ONLY, SO_REUSEADDR), so the listening sockets are the same; only who waits on
/// them changes.
/// </summary>
internal sealed class LoopTransportFactory(EpollLoopGroup loops, Func<EndPoint, Socket> bind, IMemoryPoolFactory<byte> pools) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly MemoryPool<byte> _pool = pools.Create(new MemoryPoolOptions());

    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint or UnixDomainSocketEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        Socket socket;
        try
        {
            socket = bind(endpoint);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new AddressInUseException(ex.Message, ex);
        }

        try
        {
            // nginx's default backlog is 511 (listen ... backlog=).
            socket.Listen(511);
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
