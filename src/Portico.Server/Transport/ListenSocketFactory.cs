using System.Net;
using System.Net.Sockets;
using Portico.Server.Routing;

namespace Portico.Server.Transport;

/// <summary>
/// Creates and binds the listening sockets of the config's <c>listen</c> directives with their parameters
/// (https://nginx.org/en/docs/http/ngx_http_core_module.html#listen): <c>reuseport</c> sets SO_REUSEPORT,
/// <c>ipv6only=off</c> makes an IPv6 wildcard socket take IPv4 too (nginx's default is on), <c>backlog=N</c> is the
/// accept queue passed to listen() (511 by default, as nginx). SO_REUSEADDR is always set, as nginx does, and
/// SO_REUSEPORT only with <c>reuseport</c>.
/// </summary>
internal sealed class ListenSocketFactory(IReadOnlyList<ListenBinding> bindings)
{
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;
    private const int SoReusePort = 15;

    /// <summary>The accept queue for <paramref name="endpoint"/>: its <c>backlog=</c>, else 511.</summary>
    public int Backlog(EndPoint endpoint) => Find(endpoint)?.Options.Backlog ?? 511;

    public Socket Bind(EndPoint endpoint)
    {
        var binding = Find(endpoint);
        if (endpoint is UnixDomainSocketEndPoint)
        {
            var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                unix.Bind(endpoint);
                return unix;
            }
            catch
            {
                unix.Dispose();
                throw;
            }
        }

        var ip = (IPEndPoint)endpoint;
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (ip.AddressFamily == AddressFamily.InterNetworkV6)
            {
                // nginx binds IPv6 sockets with IPV6_V6ONLY on unless ipv6only=off, so "[::]:80" and "0.0.0.0:80"
                // can both be bound.
                socket.DualMode = binding?.Options.Ipv6Only == false;
            }

            // Raw: .NET's SocketOptionName.ReuseAddress sets SO_REUSEPORT too on Linux, which would let a second
            // server take a share of the port silently; nginx fails that start with "Address already in use".
            socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
            if (binding?.Options.ReusePort == true)
            {
                socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
            }

            socket.Bind(ip);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private ListenBinding? Find(EndPoint endpoint)
    {
        foreach (var binding in bindings)
        {
            if (endpoint is IPEndPoint ip ? ip.Equals(binding.EndPoint) : binding.UnixPath is { } path && endpoint.ToString() == path)
            {
                return binding;
            }
        }

        return null;
    }
}
