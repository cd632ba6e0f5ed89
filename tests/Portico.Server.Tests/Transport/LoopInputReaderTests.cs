using System.Buffers;
using System.IO.Pipelines;
using Portico.Server.Transport;

namespace Portico.Server.Tests.Transport;

/// <summary>
/// The client connection's receive side as Kestrel reads it: a pending read completes inline with the bytes a
/// receive brings; examined bytes make the next read wait; bytes across blocks come in order and partial
/// consumption keeps the rest; the receive pauses at 1 MB unread and resumes below 512 KB; the end and errors
/// reach the reader; and every block goes back to the pool once read.
/// </summary>
public sealed class LoopInputReaderTests
{
    /// <summary>A pool that counts its blocks out and back.</summary>
    private sealed class CountingPool : MemoryPool<byte>
    {
        public int Out;

        public override int MaxBufferSize => 4096;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
        {
            Interlocked.Increment(ref Out);
            return new Block(this);
        }

        protected override void Dispose(bool disposing)
        {
        }

        private sealed class Block(CountingPool pool) : IMemoryOwner<byte>
        {
            private byte[]? _array = new byte[4096];

            public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(Block));

            public void Dispose()
            {
                if (_array is not null)
                {
                    _array = null;
                    Interlocked.Decrement(ref pool.Out);
                }
            }
        }
    }

    /// <summary>What the connection's receive loop does with bytes from the socket, short of the pause mark.</summary>
    private static void Receive(LoopInputReader input, ReadOnlySpan<byte> bytes) => Assert.Null(ReceiveToPause(input, bytes));

    /// <summary>The same up to the pause mark: the task the loop would await before its next receive.</summary>
    private static Task<bool>? ReceiveToPause(LoopInputReader input, ReadOnlySpan<byte> bytes)
    {
        Task<bool>? pause = null;
        while (!bytes.IsEmpty)
        {
            var memory = input.GetReceiveMemory(2048);
            var count = Math.Min(memory.Length, bytes.Length);
            bytes[..count].CopyTo(memory.Span);
            pause = input.Received(count);
            bytes = bytes[count..];
        }

        return pause;
    }

    [Fact]
    public async Task A_pending_read_completes_inline_with_the_bytes_received()
    {
        var input = new LoopInputReader(new CountingPool());
        var reading = input.ReadAsync();
        Assert.False(reading.IsCompleted);

        Receive(input, "GET / HTTP/1.1\r\n"u8);
        Assert.True(reading.IsCompleted);
        var result = await reading;
        Assert.Equal("GET / HTTP/1.1\r\n"u8.ToArray(), result.Buffer.ToArray());
        Assert.False(result.IsCompleted);
    }

    [Fact]
    public async Task Examined_bytes_make_the_next_read_wait_for_more()
    {
        var input = new LoopInputReader(new CountingPool());
        Receive(input, "GET / HT"u8);
        var first = await input.ReadAsync();

        // The parser needs more: nothing consumed, everything examined.
        input.AdvanceTo(first.Buffer.Start, first.Buffer.End);
        var second = input.ReadAsync();
        Assert.False(second.IsCompleted);

        Receive(input, "TP/1.1\r\n"u8);
        Assert.Equal("GET / HTTP/1.1\r\n"u8.ToArray(), (await second).Buffer.ToArray());
    }

    [Fact]
    public async Task Bytes_across_blocks_come_in_order_and_a_partial_consume_keeps_the_rest()
    {
        var pool = new CountingPool();
        var input = new LoopInputReader(pool);
        var payload = new byte[20_000];
        new Random(3).NextBytes(payload);
        Receive(input, payload);
        Assert.True(pool.Out >= 5);

        var result = await input.ReadAsync();
        Assert.False(result.Buffer.IsSingleSegment);
        Assert.Equal(payload, result.Buffer.ToArray());

        input.AdvanceTo(result.Buffer.GetPosition(9_000));
        var rest = await input.ReadAsync();
        Assert.Equal(payload[9_000..], rest.Buffer.ToArray());

        input.AdvanceTo(rest.Buffer.End);
        Assert.Equal(0, pool.Out);
    }

    [Fact]
    public async Task Every_block_goes_back_to_the_pool_once_read()
    {
        var pool = new CountingPool();
        var input = new LoopInputReader(pool);
        for (var request = 0; request < 3; request++)
        {
            Receive(input, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"u8);
            var result = await input.ReadAsync();
            input.AdvanceTo(result.Buffer.End);

            // An idle kept-alive connection holds no block.
            Assert.Equal(0, pool.Out);
        }
    }

    [Fact]
    public async Task The_receive_pauses_at_one_megabyte_unread_and_resumes_below_half()
    {
        var input = new LoopInputReader(new CountingPool());
        var pause = ReceiveToPause(input, new byte[1024 * 1024]);
        Assert.NotNull(pause);
        Assert.False(pause.IsCompleted);

        var result = await input.ReadAsync();
        input.AdvanceTo(result.Buffer.GetPosition(400 * 1024));
        Assert.False(pause.IsCompleted);

        var rest = await input.ReadAsync();
        input.AdvanceTo(rest.Buffer.GetPosition(300 * 1024));
        Assert.True(await pause.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_paused_receive_stops_when_the_reader_completes_or_the_connection_ends()
    {
        var completed = new LoopInputReader(new CountingPool());
        var pause = ReceiveToPause(completed, new byte[1024 * 1024])!;
        completed.Complete();
        Assert.False(await pause.WaitAsync(TimeSpan.FromSeconds(5)));

        var ended = new LoopInputReader(new CountingPool());
        var second = ReceiveToPause(ended, new byte[1024 * 1024])!;
        ended.StopWaitingForRoom();
        Assert.False(await second.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task The_clients_end_completes_a_pending_read_and_leaves_the_bytes_to_read()
    {
        var input = new LoopInputReader(new CountingPool());
        Receive(input, "tail"u8);
        var first = await input.ReadAsync();
        input.AdvanceTo(first.Buffer.Start, first.Buffer.End);
        var reading = input.ReadAsync();

        input.ReceivedNothing();
        input.CompleteWriting(null);
        var result = await reading;
        Assert.True(result.IsCompleted);
        Assert.Equal("tail"u8.ToArray(), result.Buffer.ToArray());
    }

    [Fact]
    public async Task A_receive_error_fails_the_read()
    {
        var input = new LoopInputReader(new CountingPool());
        var reading = input.ReadAsync().AsTask();
        input.CompleteWriting(new InvalidOperationException("reset"));
        Assert.Equal("reset", (await Assert.ThrowsAsync<InvalidOperationException>(() => reading)).Message);
        Assert.Throws<InvalidOperationException>(() => input.TryRead(out _));
    }

    [Fact]
    public async Task A_cancelled_read_ends_as_kestrel_expects()
    {
        var input = new LoopInputReader(new CountingPool());
        var reading = input.ReadAsync();
        input.CancelPendingRead();
        Assert.True((await reading).IsCanceled);

        // With no read pending, the next read is the cancelled one.
        input.CancelPendingRead();
        Assert.True((await input.ReadAsync()).IsCanceled);

        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(20));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => input.ReadAsync(timeout.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(5)));

        // A read after the token's cancellation still gets bytes.
        var next = input.ReadAsync();
        Receive(input, "x"u8);
        Assert.Equal("x"u8.ToArray(), (await next).Buffer.ToArray());
    }

    [Fact]
    public async Task Completing_the_reader_gives_every_block_back()
    {
        var pool = new CountingPool();
        var input = new LoopInputReader(pool);
        Receive(input, new byte[10_000]);
        Assert.True(pool.Out > 0);
        input.Complete();
        Assert.Equal(0, pool.Out);
        Assert.False(await input.Received(0)!);
    }
}
