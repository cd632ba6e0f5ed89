using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Portico.Server.Transport;

namespace Portico.Server.Tests.Transport;

/// <summary>
/// The client connection's send side against a real kernel socket: a flush is the send itself; a flush that
/// finds the socket buffer full waits for room and loses no byte across blocks; a cancelled flush keeps its bytes
/// for the next; completion sends what was written before the side ends; a failed send ends it with the error;
/// a flush the client takes nothing of for send_timeout times out, one it keeps taking bytes of does not.
/// </summary>
public sealed class LoopOutputWriterTests
{
    private sealed class SendSide
    {
        public TaskCompletionSource<Exception?> Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource TimedOut { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Count;

        public void OnTimedOut() => TimedOut.TrySetResult();

        public void OnEnded(Exception? reason)
        {
            Interlocked.Increment(ref Count);
            Ended.TrySetResult(reason);
        }
    }

    /// <summary>A writer on one end of a real connection, the other end (<see cref="Peer"/>) a plain socket.</summary>
    private sealed class Connected : IDisposable
    {
        private Connected(LoopSocket socket, Socket peer)
        {
            Socket = socket;
            Peer = peer;
            Writer = new LoopOutputWriter(socket, MemoryPool<byte>.Shared, Side.OnEnded, Side.OnTimedOut);
        }

        public LoopSocket Socket { get; }

        public Socket Peer { get; }

        public SendSide Side { get; } = new();

        public LoopOutputWriter Writer { get; }

        public static async Task<Connected> StartAsync()
        {
            var (socket, peer) = await LoopSocketTests.ConnectedPairAsync();
            return new Connected(socket, peer);
        }

        public void Dispose()
        {
            Socket.Dispose();
            Peer.Dispose();
        }
    }

    private static byte[] Payload(int length)
    {
        var payload = new byte[length];
        new Random(length).NextBytes(payload);
        return payload;
    }

    /// <summary>Writes through GetSpan/Advance in uneven pieces, as Kestrel's BufferWriter does.</summary>
    private static void Write(PipeWriter writer, ReadOnlySpan<byte> bytes)
    {
        var piece = 1000;
        while (!bytes.IsEmpty)
        {
            var span = writer.GetSpan(Math.Min(piece, bytes.Length));
            var count = Math.Min(span.Length, Math.Min(piece, bytes.Length));
            bytes[..count].CopyTo(span);
            writer.Advance(count);
            bytes = bytes[count..];
            piece = piece == 1000 ? 3333 : 1000;
        }
    }

    private static async Task<byte[]> ReceiveAsync(Socket peer, int length)
    {
        var received = new byte[length];
        var total = 0;
        while (total < length)
        {
            var count = await peer.ReceiveAsync(received.AsMemory(total)).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.NotEqual(0, count);
            total += count;
        }

        return received;
    }

    [Fact]
    public async Task A_small_flush_is_sent_at_once()
    {
        using var connected = await Connected.StartAsync();
        var (socket, peer, side, writer) = (connected.Socket, connected.Peer, connected.Side, connected.Writer);
        Write(writer, "HTTP/1.1 200 OK\r\n\r\n"u8);
        Assert.Equal(19, writer.UnflushedBytes);

        var flushing = writer.FlushAsync();
        Assert.True(flushing.IsCompletedSuccessfully);
        Assert.False((await flushing).IsCompleted);
        Assert.Equal(0, writer.UnflushedBytes);
        Assert.Equal("HTTP/1.1 200 OK\r\n\r\n"u8.ToArray(), await ReceiveAsync(peer, 19));
    }

    [Fact]
    public async Task A_large_flush_waits_for_room_and_delivers_every_byte_in_order()
    {
        using var connected = await Connected.StartAsync();
        var (socket, peer, side, writer) = (connected.Socket, connected.Peer, connected.Side, connected.Writer);
        var payload = Payload(8 * 1024 * 1024);
        Write(writer, payload);
        var flushing = writer.FlushAsync().AsTask();

        // The kernel buffers hold far less than 8 MB: the flush must be waiting for the reader.
        await Task.Delay(100);
        Assert.False(flushing.IsCompleted);

        var received = ReceiveAsync(peer, payload.Length);
        var result = await flushing.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(result.IsCanceled);
        Assert.False(result.IsCompleted);
        Assert.Equal(payload, await received);
        Assert.Equal(0, side.Count);
    }

    [Fact]
    public async Task A_flush_the_client_takes_nothing_of_times_out_after_send_timeout()
    {
        using var connected = await Connected.StartAsync();
        var (side, writer) = (connected.Side, connected.Writer);
        writer.SendTimeout = TimeSpan.FromMilliseconds(300);
        Write(writer, Payload(8 * 1024 * 1024));
        var started = System.Diagnostics.Stopwatch.StartNew();
        var flushing = writer.FlushAsync().AsTask();

        await side.TimedOut.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.InRange(started.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
        Assert.False(flushing.IsCompleted); // the connection's abort ends it, not the timer
    }

    [Fact]
    public async Task A_client_that_keeps_taking_bytes_is_not_timed_out_however_long_the_flush()
    {
        using var connected = await Connected.StartAsync();
        var (peer, side, writer) = (connected.Peer, connected.Side, connected.Writer);
        writer.SendTimeout = TimeSpan.FromSeconds(2);
        var payload = Payload(32 * 1024 * 1024);
        Write(writer, payload);
        var flushing = writer.FlushAsync().AsTask();

        // The reader takes 2 MB, then pauses 250 ms, again and again: the whole flush takes longer than
        // send_timeout, no pause comes near it (the margin is for a busy test machine). (2 MB at a time, as progress is what the writer sends, and the kernel
        // reports room only once enough of its buffer is free: nginx's write events work the same way.)
        var buffer = new byte[256 * 1024];
        long received = 0;
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (received < payload.Length)
        {
            var round = 0;
            while (round < 2 * 1024 * 1024 && received < payload.Length)
            {
                var read = await peer.ReceiveAsync(buffer, SocketFlags.None);
                Assert.True(read > 0);
                round += read;
                received += read;
            }

            await Task.Delay(250);
        }

        await flushing.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(started.Elapsed > writer.SendTimeout, "the flush took less than send_timeout: the test proves nothing");
        Assert.False(side.TimedOut.Task.IsCompleted);
        Assert.Equal(0, side.Count);
    }

    [Fact]
    public async Task A_cancelled_flush_keeps_its_bytes_for_the_next_flush()
    {
        using var connected = await Connected.StartAsync();
        var (socket, peer, side, writer) = (connected.Socket, connected.Peer, connected.Side, connected.Writer);
        var payload = Payload(8 * 1024 * 1024);
        Write(writer, payload);
        var flushing = writer.FlushAsync().AsTask();
        await Task.Delay(50);
        Assert.False(flushing.IsCompleted);

        writer.CancelPendingFlush();
        var cancelled = await flushing.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(cancelled.IsCanceled);

        // More bytes after the cancelled flush; the next flush sends the rest of the first, then these.
        var more = Payload(10_000);
        Write(writer, more);
        var received = ReceiveAsync(peer, payload.Length + more.Length);
        var result = await writer.FlushAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(result.IsCanceled);
        Assert.Equal(payload.Concat(more).ToArray(), await received);
    }

    [Fact]
    public async Task Completing_sends_what_was_written_then_ends_the_send_side()
    {
        using var connected = await Connected.StartAsync();
        var (socket, peer, side, writer) = (connected.Socket, connected.Peer, connected.Side, connected.Writer);
        var payload = Payload(4 * 1024 * 1024);
        Write(writer, payload);

        // Written, never flushed: completion still sends it (as a Pipe's reader gets it), waiting for room.
        writer.Complete();
        await Task.Delay(50);
        Assert.False(side.Ended.Task.IsCompleted);

        Assert.Equal(payload, await ReceiveAsync(peer, payload.Length));
        Assert.Null(await side.Ended.Task.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(1, side.Count);
        Assert.Throws<ObjectDisposedException>(() => writer.GetMemory());
    }

    [Fact]
    public async Task A_failed_send_ends_the_side_with_its_error_and_later_flushes_say_completed()
    {
        using var connected = await Connected.StartAsync();
        var (socket, peer, side, writer) = (connected.Socket, connected.Peer, connected.Side, connected.Writer);

        // The peer resets the connection (SO_LINGER 0): a send then fails with ECONNRESET or EPIPE.
        peer.LingerState = new LingerOption(true, 0);
        peer.Close();
        await Task.Delay(50);

        FlushResult result = default;
        for (var attempt = 0; attempt < 20 && !result.IsCompleted; attempt++)
        {
            Write(writer, Payload(64 * 1024));
            result = await writer.FlushAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        }

        Assert.True(result.IsCompleted);
        var reason = await side.Ended.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.IsAssignableFrom<SocketException>(reason);
        Assert.True((await writer.FlushAsync()).IsCompleted);
        writer.Complete();
        Assert.Equal(1, side.Count);
    }

    [Fact]
    public async Task Completing_with_an_error_ends_the_side_without_sending()
    {
        using var connected = await Connected.StartAsync();
        var (socket, peer, side, writer) = (connected.Socket, connected.Peer, connected.Side, connected.Writer);
        Write(writer, "unsent"u8);
        var error = new InvalidOperationException("aborted");
        writer.Complete(error);
        Assert.Same(error, await side.Ended.Task.WaitAsync(TimeSpan.FromSeconds(5)));

        socket.Shutdown(LinuxSockets.SHUT_RDWR);
        var buffer = new byte[16];
        Assert.Equal(0, await peer.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
    }
}
