using System.Net;
using System.Net.Sockets;

namespace Portico.FastCgi.Client;

/// <summary>
/// The byte stream a <see cref="FastCgiConnection"/> runs on. The library's own is a .NET <see cref="Socket"/>
/// (<see cref="FastCgiConnector.Sockets"/>); a host with its own event loop (the Portico server) supplies one
/// whose completions run on that loop. Failures surface as <see cref="SocketException"/>,
/// <see cref="ObjectDisposedException"/> (closed) or <see cref="OperationCanceledException"/> (the token).
/// </summary>
internal abstract class FastCgiSocket : IDisposable
{
    /// <summary>Receives at least one byte, or 0 when the backend closed its side.</summary>
    public abstract ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>Sends some of <paramref name="buffer"/> (at least one byte) and returns how much.</summary>
    public abstract ValueTask<int> SendAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>False once closed.</summary>
    public abstract bool IsOpen { get; }

    /// <summary>True when a read would not wait: bytes arrived or the backend closed (poll(2) for POLLIN).</summary>
    public abstract bool HasInputOrClosed();

    /// <summary>
    /// Acknowledges the bytes received so far at once instead of after the delayed-ACK timer (TCP_QUICKACK, Linux).
    /// php-fpm writes with Nagle's algorithm on: a response in several writes holds its last small one (often the
    /// END_REQUEST record) until the earlier ones are acknowledged, and a request/response connection delays that
    /// acknowledgement, hoping to send it with the next request: 40 ms lost per response. A no-op elsewhere.
    /// </summary>
    public virtual void AcknowledgeNow()
    {
    }

    /// <summary>Turns SO_KEEPALIVE on (nginx's <c>fastcgi_socket_keepalive on</c>): the kernel's keepalive probes
    /// find a backend host that vanished while the connection sat idle. A no-op on a unix socket.</summary>
    public abstract void EnableKeepAlive();

    public abstract void Dispose();
}

/// <summary>Opens the <see cref="FastCgiSocket"/>s of a pool.</summary>
internal abstract class FastCgiConnector
{
    /// <summary>.NET sockets: completions run where the runtime's socket engine runs them.</summary>
    public static FastCgiConnector Sockets { get; } = new SocketConnector();

    /// <summary>Connects; a refusal is a <see cref="SocketException"/>, the token's cancellation an
    /// <see cref="OperationCanceledException"/>.</summary>
    public abstract ValueTask<FastCgiSocket> ConnectAsync(EndPoint target, CancellationToken cancellationToken);

    /// <summary>
    /// Connects; a refusal is returned, not thrown. While a backend is down every request's connect fails, and a
    /// thrown failure costs each of them an exception unwound through every async frame between the socket and the
    /// 502 (several times the CPU of a served request). A connector that can tell failure without an exception
    /// overrides this; this one catches its own. The token's cancellation still throws.
    /// </summary>
    public virtual async ValueTask<(FastCgiSocket? Socket, SocketException? Failure)> TryConnectAsync(EndPoint target, CancellationToken cancellationToken)
    {
        try
        {
            return (await ConnectAsync(target, cancellationToken).ConfigureAwait(false), null);
        }
        catch (SocketException ex)
        {
            return (null, ex);
        }
    }

    private sealed class SocketConnector : FastCgiConnector
    {
        public override async ValueTask<FastCgiSocket> ConnectAsync(EndPoint target, CancellationToken cancellationToken)
        {
            // A literal address gets a socket of its own family: the dual-mode IPv6 socket .NET creates by default
            // costs four more system calls per connect (IPV6_V6ONLY set and read back) for nothing.
            var socket = target switch
            {
                UnixDomainSocketEndPoint => new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified),
                IPEndPoint ip => new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true },
                _ => new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true },
            };
            try
            {
                await socket.ConnectAsync(target, cancellationToken).ConfigureAwait(false);
                return new NetFastCgiSocket(socket, tcp: target is not UnixDomainSocketEndPoint);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
    }
}

/// <summary>A .NET <see cref="Socket"/> as a <see cref="FastCgiSocket"/>.</summary>
internal sealed class NetFastCgiSocket(Socket socket, bool tcp) : FastCgiSocket
{
    private const int TcpQuickAck = 12; // linux/tcp.h

    public override void AcknowledgeNow()
    {
        if (!tcp || !OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            socket.SetRawSocketOption((int)SocketOptionLevel.Tcp, TcpQuickAck, [1, 0, 0, 0]);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Closed meanwhile: the read that follows reports it.
        }
    }

    public override void EnableKeepAlive()
    {
        if (tcp)
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        }
    }

    public override ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);

    public override ValueTask<int> SendAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken) =>
        socket.SendAsync(buffer, SocketFlags.None, cancellationToken);

    public override bool IsOpen => socket.Connected;

    public override bool HasInputOrClosed() => socket.Poll(0, SelectMode.SelectRead);

    public override void Dispose() => socket.Dispose();
}
