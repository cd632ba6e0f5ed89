using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using static Portico.Server.Transport.LinuxSockets;

namespace Portico.Server.Transport;

/// <summary>
/// A non-blocking stream socket on an <see cref="EpollLoop"/>, registered edge-triggered for both directions.
/// Like nginx (ngx_unix_recv with EPOLLRDHUP), it remembers when a direction was drained (EAGAIN, or a read
/// shorter than the buffer) and waits for the next event before trying again, so a request costs one recv()
/// per burst of bytes instead of an attempt that fails with EAGAIN first. Reads and writes may come from any
/// thread (one reader and one writer at a time); the descriptor is closed only when no system call is using
/// it, so a racing close can never hit a descriptor number the kernel has given to someone else.
/// </summary>
internal sealed partial class LoopSocket : IEpollHandler, IDisposable
{
    private const int MaxVectors = 32;

    private readonly int _fd;
    private readonly ulong _token;
    private readonly ReadinessWaiter _read = new();
    private readonly ReadinessWaiter _write = new();
    private int _users = 1;
    private volatile bool _peerClosedInput;
    private int _closed;
    private int _released;
    private MemoryHandle[]? _pins;

    public LoopSocket(int fd, EpollLoop loop)
    {
        _fd = fd;
        Loop = loop;
        _token = loop.Register(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, this);
    }

    public EpollLoop Loop { get; }

    public int Descriptor => _fd;

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    public bool IsReadable => _read.IsReady;

    public static ObjectDisposedException ClosedException() => new(nameof(LoopSocket));

    void IEpollHandler.OnEvents(uint events)
    {
        if ((events & EPOLLRDHUP) != 0)
        {
            // Set before the signal: a reader woken by it must not take a short read for a drain. EPOLLRDHUP only,
            // as nginx's pending_eof: a socket registered before its connect reports EPOLLHUP alone (TCP_CLOSE).
            _peerClosedInput = true;
        }

        if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0)
        {
            _read.Signal();
        }

        if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0)
        {
            _write.Signal();
        }
    }

    /// <summary>Waits until the socket may have bytes (or an end) to read.</summary>
    public ValueTask WaitReadableAsync(CancellationToken cancellationToken = default) =>
        _read.IsReady ? default : _read.WaitAsync(this, cancellationToken);

    /// <summary>One recv(): the count (0 at the peer's end), or -1 when nothing was there.</summary>
    public unsafe int TryReceive(Span<byte> buffer)
    {
        var sequence = Volatile.Read(ref _read.Sequence);
        Enter();
        nint received;
        int errno;
        try
        {
            do
            {
                fixed (byte* pointer = buffer)
                {
                    received = Recv(_fd, pointer, (nuint)buffer.Length, 0);
                }

                errno = received < 0 ? Marshal.GetLastPInvokeError() : 0;
            }
            while (errno == EINTR);
        }
        finally
        {
            Exit();
        }

        if (received > 0)
        {
            // A short read means drained, unless the peer's FIN came with the bytes: edge-triggered epoll reported
            // it once, with them, and the next recv() must find it (ngx_unix_recv keeps ready on pending_eof).
            if (received < buffer.Length && !_peerClosedInput)
            {
                _read.Drained(sequence);
            }

            return (int)received;
        }

        if (received == 0)
        {
            return 0;
        }

        if (errno == EAGAIN)
        {
            _read.Drained(sequence);
            return -1;
        }

        throw SocketErrors.Exception(errno);
    }

    /// <summary>One send(): the count, or -1 when the socket buffer is full.</summary>
    public unsafe int TrySend(ReadOnlySpan<byte> buffer)
    {
        var sequence = Volatile.Read(ref _write.Sequence);
        Enter();
        nint sent;
        int errno;
        try
        {
            do
            {
                fixed (byte* pointer = buffer)
                {
                    sent = Send(_fd, pointer, (nuint)buffer.Length, MSG_NOSIGNAL);
                }

                errno = sent < 0 ? Marshal.GetLastPInvokeError() : 0;
            }
            while (errno == EINTR);
        }
        finally
        {
            Exit();
        }

        if (sent >= 0)
        {
            if (sent < buffer.Length)
            {
                _write.Drained(sequence);
            }

            return (int)sent;
        }

        if (errno == EAGAIN)
        {
            _write.Drained(sequence);
            return -1;
        }

        throw SocketErrors.Exception(errno);
    }

    public ValueTask<int> SendAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_write.IsReady)
        {
            var sent = TrySend(buffer.Span);
            if (sent > 0)
            {
                return new ValueTask<int>(sent);
            }
        }

        return SendWhenWritableAsync(buffer, cancellationToken);
    }

    private async ValueTask<int> SendWhenWritableAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            await _write.WaitAsync(this, cancellationToken).ConfigureAwait(false);
            var sent = TrySend(buffer.Span);
            if (sent > 0)
            {
                return sent;
            }
        }
    }

    /// <summary>False once a send found the socket buffer full, until epoll reports room again.</summary>
    public bool IsWritable => _write.IsReady;

    /// <summary>Waits until the socket may take more bytes (or has failed).</summary>
    public ValueTask WaitWritableAsync(CancellationToken cancellationToken) =>
        _write.IsReady ? default : _write.WaitAsync(this, cancellationToken);

    /// <summary>writev() until everything went or the socket buffer is full; returns the bytes sent.</summary>
    public long TrySendSequence(in ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsSingleSegment)
        {
            long total = 0;
            var span = buffer.FirstSpan;
            while (total < span.Length)
            {
                var sent = TrySend(span[(int)total..]);
                if (sent < 0)
                {
                    break;
                }

                total += sent;
            }

            return total;
        }

        long done = 0;
        var rest = buffer;
        while (!rest.IsEmpty)
        {
            var sent = WritevOnce(rest);
            if (sent < 0)
            {
                break;
            }

            done += sent;
            rest = rest.Slice(sent);
        }

        return done;
    }

    private unsafe long WritevOnce(in ReadOnlySequence<byte> buffer)
    {
        var pins = _pins ??= new MemoryHandle[MaxVectors];
        var vectors = stackalloc IoVector[MaxVectors];
        var count = 0;
        long length = 0;
        foreach (var segment in buffer)
        {
            if (segment.IsEmpty)
            {
                continue;
            }

            pins[count] = segment.Pin();
            vectors[count].Base = (byte*)pins[count].Pointer;
            vectors[count].Length = (nuint)segment.Length;
            length += segment.Length;
            if (++count == MaxVectors)
            {
                break;
            }
        }

        var sequence = Volatile.Read(ref _write.Sequence);
        nint sent;
        int errno;
        Enter();
        try
        {
            do
            {
                sent = Writev(_fd, vectors, count);
                errno = sent < 0 ? Marshal.GetLastPInvokeError() : 0;
            }
            while (errno == EINTR);
        }
        finally
        {
            Exit();
            for (var i = 0; i < count; i++)
            {
                pins[i].Dispose();
                pins[i] = default;
            }
        }

        if (sent >= 0)
        {
            if (sent < length)
            {
                _write.Drained(sequence);
            }

            return sent;
        }

        if (errno == EAGAIN)
        {
            _write.Drained(sequence);
            return -1;
        }

        throw SocketErrors.Exception(errno);
    }

    /// <summary>poll(2) with no wait: true when bytes or the peer's end are waiting. Skipped (false) while no
    /// event came since the last drain: nothing can be there then.</summary>
    public unsafe bool HasInputOrClosed()
    {
        if (IsClosed)
        {
            return true;
        }

        if (!_read.IsReady)
        {
            return false;
        }

        var poll = new PollFd { Fd = _fd, Events = POLLIN };
        Enter();
        try
        {
            return LinuxSockets.Poll(&poll, 1, 0) != 0;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// TCP_QUICKACK (tcp(7)): acknowledges what arrived now, rather than after the delayed-ACK timer (40 ms on Linux).
    /// A peer with Nagle's algorithm on holds its next small write until then. No-op on other sockets and once closed.
    /// </summary>
    public void AcknowledgeNow() => TurnOn(IPPROTO_TCP, TCP_QUICKACK);

    /// <summary>SO_KEEPALIVE (socket(7)): the kernel probes the peer of an idle connection (nginx's so_keepalive).</summary>
    public void EnableKeepAlive() => TurnOn(SOL_SOCKET, SO_KEEPALIVE);

    /// <summary>Sets a boolean socket option; no-op once closed (the next read or write reports that).</summary>
    private unsafe void TurnOn(int level, int option)
    {
        if (!TryEnter())
        {
            return;
        }

        try
        {
            var one = 1;
            SetSockOpt(_fd, level, option, &one, sizeof(int));
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>shutdown(2): ends one or both directions; pending waits see the end through their events.</summary>
    public unsafe void Shutdown(int how)
    {
        if (!TryEnter())
        {
            return;
        }

        try
        {
            LinuxSockets.Shutdown(_fd, how);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Closes: pending waits fail at once, the descriptor goes when the last system call returns.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        Loop.Unregister(_token);
        var error = ClosedException();
        _read.Fail(error);
        _write.Fail(error);
        Exit();
    }

    private void Enter()
    {
        if (!TryEnter())
        {
            throw ClosedException();
        }
    }

    private bool TryEnter()
    {
        Interlocked.Increment(ref _users);
        if (Volatile.Read(ref _closed) != 0)
        {
            Exit();
            return false;
        }

        return true;
    }

    private void Exit()
    {
        if (Interlocked.Decrement(ref _users) == 0 && Interlocked.Exchange(ref _released, 1) == 0)
        {
            LinuxSockets.Close(_fd);
        }
    }
}
