using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using static Portico.Server.Transport.LinuxSockets;

namespace Portico.Server.Transport;

/// <summary>
/// A listening socket watched by every event loop (EPOLLEXCLUSIVE: one loop wakes per connection, as nginx's
/// accept mutex intends). The connections go to the loops in turn, each kept by its loop for its whole life, so
/// the load spreads evenly whichever loop happened to wake; Kestrel's accept loop then takes them from a queue.
/// </summary>
internal sealed class LoopListener : IConnectionListener
{
    /// <summary>nginx's default (multi_accept off): one connection per wake-up. The listening socket is
    /// level-triggered, so what is still queued wakes a loop again, and a burst of connects spreads over the
    /// loops instead of landing on whichever woke first.</summary>
    private const int AcceptsPerWake = 1;

    private readonly Socket _socket;
    private readonly int _fd;
    private readonly EpollLoopGroup _loops;
    private readonly MemoryPool<byte> _pool;
    private readonly Channel<LoopConnection> _accepted = Channel.CreateUnbounded<LoopConnection>(new UnboundedChannelOptions { SingleReader = true });
    private readonly (EpollLoop Loop, ulong Token)[] _registrations;
    private readonly EndPoint? _fixedLocal;
    private readonly bool _tcp;
    private int _unbound;

    public LoopListener(Socket socket, EpollLoopGroup loops, MemoryPool<byte> pool)
    {
        _socket = socket;
        _fd = (int)socket.SafeHandle.DangerousGetHandle();
        _loops = loops;
        _pool = pool;
        EndPoint = socket.LocalEndPoint!;
        _tcp = socket.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6;

        // A listener bound to one address hands out that address; a wildcard one asks the kernel per connection
        // (nginx's $server_addr does the same getsockname()).
        _fixedLocal = EndPoint is IPEndPoint ip && (ip.Address.Equals(IPAddress.Any) || ip.Address.Equals(IPAddress.IPv6Any)) ? null : EndPoint;
        _registrations = new (EpollLoop, ulong)[loops.Loops.Length];
        for (var i = 0; i < loops.Loops.Length; i++)
        {
            var loop = loops.Loops[i];
            _registrations[i] = (loop, loop.Register(_fd, EPOLLIN | EPOLLEXCLUSIVE, new Acceptor(this, loop)));
        }
    }

    public EndPoint EndPoint { get; }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _unbound, 1) == 0)
        {
            foreach (var (loop, token) in _registrations)
            {
                loop.Remove(_fd);
                loop.Unregister(token);
            }

            _accepted.Writer.TryComplete();
            _socket.Dispose();
        }

        return default;
    }

    public async ValueTask DisposeAsync()
    {
        await UnbindAsync().ConfigureAwait(false);

        // Connections accepted but never taken by Kestrel are closed here.
        while (_accepted.Reader.TryRead(out var connection))
        {
            connection.Abort(new ConnectionAbortedException("The listener was closed."));
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>On <paramref name="loop"/>'s thread: accept what the kernel queued.</summary>
    private unsafe void AcceptOn(EpollLoop loop)
    {
        var address = stackalloc byte[SockAddr.MaxLength];
        for (var i = 0; i < AcceptsPerWake && Volatile.Read(ref _unbound) == 0; i++)
        {
            var length = SockAddr.MaxLength;
            var fd = Accept4(_fd, address, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno is EINTR or 103 /* ECONNABORTED: the client gave up while queued */)
                {
                    continue;
                }

                // EAGAIN: all taken (another loop may have won the race). EMFILE and the like: nginx logs and
                // waits for the next event; the kernel keeps the connection queued meanwhile.
                return;
            }

            if (_tcp)
            {
                var one = 1;
                SetSockOpt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(int));
            }

            var owner = _loops.Next();
            LoopSocket socket;
            try
            {
                socket = new LoopSocket(fd, owner);
            }
            catch (Exception ex)
            {
                Close(fd);
                LoopFailures.Report(ex);
                continue;
            }

            var remote = SockAddr.ToEndPoint(address, length);
            var local = _fixedLocal ?? (_tcp ? SockAddr.Local(fd) : EndPoint);
            var connection = new LoopConnection(socket, _pool, local, remote);
            if (owner == loop)
            {
                connection.Start();
            }
            else
            {
                // The receive side starts on its own loop, so even the first request runs there.
                owner.Post(static state => ((LoopConnection)state!).Start(), connection);
            }

            if (!_accepted.Writer.TryWrite(connection))
            {
                connection.Abort(new ConnectionAbortedException("The listener was closed."));
            }
        }
    }

    private sealed class Acceptor(LoopListener listener, EpollLoop loop) : IEpollHandler
    {
        public void OnEvents(uint events) => listener.AcceptOn(loop);
    }
}
