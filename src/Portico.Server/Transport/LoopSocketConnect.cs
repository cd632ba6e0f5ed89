using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using static Portico.Server.Transport.LinuxSockets;

namespace Portico.Server.Transport;

/// <summary>Outgoing connections (to FastCGI backends): a non-blocking connect(2) finished on the loop.</summary>
internal sealed partial class LoopSocket
{
    /// <summary>Connects a new socket of <paramref name="target"/>'s family, on <paramref name="loop"/>; a refusal (any
    /// failure of the connect itself) is a <see cref="SocketException"/>.</summary>
    public static async ValueTask<LoopSocket> ConnectAsync(EndPoint target, EpollLoop loop, CancellationToken cancellationToken)
    {
        var (socket, errno) = await TryConnectAsync(target, loop, cancellationToken).ConfigureAwait(false);
        return socket ?? throw SocketErrors.Exception(errno);
    }

    /// <summary>
    /// As <see cref="ConnectAsync"/>, but a failed connect(2) is returned as its errno, with no socket, instead of
    /// thrown. A backend that is down refuses every request's connect: thrown, that failure unwound through every
    /// async frame up to the 502, about 75 us of CPU a request against nginx's few (session 14's note). Failing to
    /// open a socket at all (EMFILE) and cancellation still throw.
    /// </summary>
    public static async ValueTask<(LoopSocket? Socket, int Errno)> TryConnectAsync(EndPoint target, EpollLoop loop, CancellationToken cancellationToken)
    {
        var address = target.Serialize();
        var family = target.AddressFamily switch
        {
            AddressFamily.InterNetwork => AF_INET,
            AddressFamily.InterNetworkV6 => AF_INET6,
            AddressFamily.Unix => AF_UNIX,
            _ => throw new NotSupportedException($"Cannot connect to {target}."),
        };
        var fd = OpenSocket(family);
        LoopSocket socket;
        try
        {
            socket = new LoopSocket(fd, loop);
        }
        catch
        {
            Close(fd);
            throw;
        }

        try
        {
            // Not writable until the kernel says the connect finished.
            socket._write.Drained(Volatile.Read(ref socket._write.Sequence));
            var errno = StartConnect(fd, address);
            if (errno == 0)
            {
                // Connected at once, as a unix socket is when the backend's listen queue has room: writable now.
                // No event would say so (the connect wakes nobody), so a send left waiting for one would hang
                // until the backend gave up on the silent connection (php-fpm: 5 s) and closed it.
                socket._write.Undrain();
            }
            else
            {
                if (errno != EINPROGRESS && errno != EINTR)
                {
                    socket.Dispose();
                    return (null, errno);
                }

                // Writable with SO_ERROR 0 and a peer means connected. The first event can come before that: the
                // registration reports a socket that is not connected yet as writable and hung up (tcp_poll).
                while (true)
                {
                    await socket._write.WaitAsync(socket, cancellationToken).ConfigureAwait(false);
                    var sequence = Volatile.Read(ref socket._write.Sequence);
                    var error = PendingError(fd);
                    if (error != 0)
                    {
                        socket.Dispose();
                        return (null, error);
                    }

                    if (HasPeer(fd))
                    {
                        break;
                    }

                    socket._write.Drained(sequence);
                }
            }

            return (socket, 0);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static unsafe int OpenSocket(int family)
    {
        var fd = LinuxSockets.Socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw SocketErrors.Exception(Marshal.GetLastPInvokeError());
        }

        if (family != AF_UNIX)
        {
            var one = 1;
            SetSockOpt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(int));
        }

        return fd;
    }

    /// <summary>connect(2) without waiting: 0 when connected at once, else errno (EINPROGRESS: wait writable).</summary>
    private static unsafe int StartConnect(int fd, SocketAddress address)
    {
        using var pin = address.Buffer.Pin();
        return LinuxSockets.Connect(fd, pin.Pointer, address.Size) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>getpeername(2) succeeds once the connect is done.</summary>
    private static unsafe bool HasPeer(int fd)
    {
        var address = stackalloc byte[SockAddr.MaxLength];
        var length = SockAddr.MaxLength;
        return GetPeerName(fd, address, &length) == 0;
    }

    /// <summary>SO_ERROR: how a connect that was in progress ended.</summary>
    private static unsafe int PendingError(int fd)
    {
        int error = 0, length = sizeof(int);
        return GetSockOpt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 ? error : Marshal.GetLastPInvokeError();
    }
}
