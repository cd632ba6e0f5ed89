using System.Net;
using System.Net.Sockets;
using Portico.Server.Transport;

namespace Portico.Server.Tests.Transport;

/// <summary>
/// The event loop's socket against real kernel sockets: readiness after a drain, connects that finish, fail or
/// time out, and closes that must fail a pending wait at once.
/// </summary>
public sealed class LoopSocketTests
{
    internal static readonly EpollLoopGroup Loops = EpollLoopGroup.Shared(2);

    internal static async Task<(LoopSocket Socket, Socket Peer)> ConnectedPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(8);
        var accepting = listener.AcceptAsync();
        var socket = await LoopSocket.ConnectAsync(listener.LocalEndPoint!, Loops.Next(), CancellationToken.None);
        return (socket, await accepting);
    }

    [Fact]
    public async Task A_receive_waits_for_bytes_and_then_gets_them()
    {
        var (socket, peer) = await ConnectedPairAsync();
        using (socket)
        using (peer)
        {
            var buffer = new byte[64];
            var receiving = socket.ReceiveAsync(buffer, CancellationToken.None);
            await Task.Delay(50);
            Assert.False(receiving.IsCompleted);

            await peer.SendAsync("hello"u8.ToArray());
            var count = await receiving.AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal("hello", System.Text.Encoding.ASCII.GetString(buffer, 0, count));

            // A short read drained the socket: the next receive waits again instead of finding stale readiness.
            var next = socket.ReceiveAsync(buffer, CancellationToken.None);
            await Task.Delay(50);
            Assert.False(next.IsCompleted);
            peer.Shutdown(SocketShutdown.Send);
            Assert.Equal(0, await next.AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        }
    }

    [Fact]
    public async Task A_fin_that_comes_with_the_bytes_is_seen_by_the_next_receive()
    {
        // One epoll event reports both (edge-triggered, once): a short read must not be taken for a drain, or
        // the end would never be seen (a request sent with its FIN, as by `nc -N`).
        for (var round = 0; round < 20; round++)
        {
            var (socket, peer) = await ConnectedPairAsync();
            using (socket)
            using (peer)
            {
                await peer.SendAsync("request"u8.ToArray());
                peer.Shutdown(SocketShutdown.Send);
                await Task.Delay(20); // both in the socket before the loop's socket is first read

                var buffer = new byte[64];
                var count = await socket.ReceiveAsync(buffer, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
                Assert.Equal("request", System.Text.Encoding.ASCII.GetString(buffer, 0, count));
                Assert.Equal(0, await socket.ReceiveAsync(buffer, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
            }
        }
    }

    [Fact]
    public async Task A_unix_connect_that_completes_at_once_can_send_at_once()
    {
        // connect(2) to a unix socket with room in its listen queue succeeds at once, and no epoll event follows
        // to say the socket is writable. The first send must not wait for one: it waited until php-fpm dropped
        // the silent connection (5 s) in about 1 request in 10.
        var path = Path.Combine(Path.GetTempPath(), "portico-loop-" + Guid.NewGuid().ToString("N") + ".sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(64);
        try
        {
            for (var round = 0; round < 50; round++)
            {
                var accepting = listener.AcceptAsync();
                using var socket = await LoopSocket.ConnectAsync(new UnixDomainSocketEndPoint(path), Loops.Next(), CancellationToken.None);
                using var peer = await accepting;

                var sent = await socket.SendAsync("ping"u8.ToArray(), CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(2));
                Assert.Equal(4, sent);
                var buffer = new byte[8];
                Assert.Equal(4, await peer.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).AsTask().WaitAsync(TimeSpan.FromSeconds(2)));
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Closing_fails_a_pending_receive_at_once()
    {
        var (socket, peer) = await ConnectedPairAsync();
        using (peer)
        {
            var receiving = socket.ReceiveAsync(new byte[16], CancellationToken.None).AsTask();
            await Task.Delay(20);
            socket.Dispose();
            await Assert.ThrowsAsync<ObjectDisposedException>(() => receiving.WaitAsync(TimeSpan.FromSeconds(5)));
        }
    }

    [Fact]
    public async Task A_cancelled_receive_ends_with_the_token()
    {
        var (socket, peer) = await ConnectedPairAsync();
        using (socket)
        using (peer)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => socket.ReceiveAsync(new byte[16], cts.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        }
    }

    [Fact]
    public async Task A_refused_connect_says_so_with_its_errno()
    {
        var port = FreePort();
        var error = await Assert.ThrowsAsync<ErrnoSocketException>(async () =>
            await LoopSocket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), Loops.Next(), CancellationToken.None));
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
        Assert.Equal(111, error.Errno);
        Assert.Equal("Connection refused", error.Message);
    }

    [Fact]
    public async Task A_refused_connect_is_returned_as_its_errno_and_never_thrown()
    {
        // A backend that is down refuses every request's connect: the refusal travels as a value (to the 502).
        var thrown = new List<Exception>();
        var inThisFlow = new AsyncLocal<bool> { Value = true };
        EventHandler<System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs> record = (_, e) =>
        {
            if (inThisFlow.Value)
            {
                lock (thrown)
                {
                    thrown.Add(e.Exception);
                }
            }
        };
        AppDomain.CurrentDomain.FirstChanceException += record;
        (LoopSocket? Socket, int Errno) tcp, unix;
        try
        {
            tcp = await LoopSocket.TryConnectAsync(new IPEndPoint(IPAddress.Loopback, FreePort()), Loops.Next(), CancellationToken.None);
            unix = await LoopSocket.TryConnectAsync(new UnixDomainSocketEndPoint("/nonexistent/php.sock"), Loops.Next(), CancellationToken.None);
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= record;
        }

        Assert.Null(tcp.Socket);
        Assert.Equal(111, tcp.Errno);
        Assert.Null(unix.Socket);
        Assert.Equal(2, unix.Errno);
        Assert.Empty(thrown);
    }

    [Fact]
    public async Task A_missing_unix_socket_is_reported_as_nginx_prints_it()
    {
        var error = await Assert.ThrowsAsync<ErrnoSocketException>(async () =>
            await LoopSocket.ConnectAsync(new UnixDomainSocketEndPoint("/nonexistent/php.sock"), Loops.Next(), CancellationToken.None));
        Assert.Equal(2, error.Errno);
        Assert.Equal("No such file or directory", error.Message);
    }

    [Fact]
    public async Task A_connect_nobody_answers_ends_with_its_timeout_every_time()
    {
        // A listener whose accept queue is full drops new SYNs: the connect stays in progress until the token
        // ends it. Many at once, to catch a wait that misses its cancellation.
        using var full = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        full.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        full.Listen(1);
        var fillers = Enumerable.Range(0, 4).Select(_ => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)).ToList();
        foreach (var filler in fillers)
        {
            _ = filler.ConnectAsync(full.LocalEndPoint!).ContinueWith(static t => t.Exception, TaskScheduler.Default);
        }

        await Task.Delay(200);
        try
        {
            var attempts = Enumerable.Range(0, 200).Select(async i =>
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100 + (i % 7)));
                var started = DateTime.UtcNow;
                await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
                    await LoopSocket.ConnectAsync(full.LocalEndPoint!, Loops.Loops[i % 2], cts.Token));
                return DateTime.UtcNow - started;
            });
            var times = await Task.WhenAll(attempts).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.All(times, t => Assert.True(t < TimeSpan.FromSeconds(3), t.ToString()));
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
        }
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
