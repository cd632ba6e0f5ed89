using System.Buffers;
using System.IO.Pipelines;

namespace Portico.Server.Transport;

/// <summary>
/// The send side of a <see cref="LoopConnection"/>, as the transport output Kestrel writes responses to. A flush is
/// the send(2) itself, on the flushing thread; only when the socket buffer is full does the flush wait, for epoll's
/// next writable event. Before, the output was a Pipe read by a send loop: each response took the pipe's lock five
/// times and resumed the loop's frame to send it (about 3k of the 46k instructions of a PHP request).
/// Kestrel writes through its ConcurrentPipeWriter, which never calls this writer while a flush of it is pending
/// and serialises every other call; so this writer holds no lock. Written bytes stay in pooled blocks until sent:
/// a flush that waits keeps them, a cancelled one (<see cref="CancelPendingFlush"/>) too (the next flush sends
/// them first), as a Pipe's reader would. A failed send, or the writer's completion once everything went, ends
/// the send side: the connection then shuts the socket and reports its close.
/// </summary>
internal sealed class LoopOutputWriter : PipeWriter
{

    private static readonly FlushResult Ended = new(isCanceled: false, isCompleted: true);

    private readonly LoopSocket _socket;
    private readonly MemoryPool<byte> _pool;
    private readonly Action<Exception?> _sendSideEnded;

    // Unsent bytes: _head.Start to _tail.End, through the segments' chain.
    private PooledSegment? _head;
    private PooledSegment? _tail;
    private PooledSegment? _spare;
    private long _unflushed;

    private bool _completed;
    private bool _ended;
    private bool _flushing;
    private volatile bool _cancelNextFlush;
    private CancellationTokenSource? _pendingFlush;

    public LoopOutputWriter(LoopSocket socket, MemoryPool<byte> pool, Action<Exception?> sendSideEnded)
    {
        _socket = socket;
        _pool = pool;
        _sendSideEnded = sendSideEnded;
    }

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _unflushed;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        var tail = _tail;
        if (tail is null || tail.Free < Math.Max(sizeHint, 1))
        {
            tail = Append(sizeHint);
        }

        return tail.Buffer[tail.End..];
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        var tail = _tail;
        if (tail is null || (uint)bytes > (uint)tail.Free)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), "Advanced past the memory the writer gave.");
        }

        tail.End += bytes;
        _unflushed += bytes;
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_ended)
        {
            return new ValueTask<FlushResult>(Ended);
        }

        cancellationToken.ThrowIfCancellationRequested();
        _unflushed = 0;
        if (_socket.IsWritable && !TrySendNow())
        {
            return new ValueTask<FlushResult>(Ended);
        }

        if (_head is null)
        {
            return _cancelNextFlush ? new ValueTask<FlushResult>(TakeCancelledResult()) : default;
        }

        return FlushWhenWritableAsync(cancellationToken);
    }

    public override void CancelPendingFlush()
    {
        // As a Pipe's: the pending flush returns IsCanceled, or else the next one does; the bytes stay to be sent.
        _cancelNextFlush = true;
        try
        {
            Volatile.Read(ref _pendingFlush)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The flush ended meanwhile.
        }
    }

    public override void Complete(Exception? exception = null)
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        if (_ended || _flushing)
        {
            // Ended already, or a waiting flush ends the send side once it is done (see FlushWhenWritableAsync).
            return;
        }

        if (exception is not null)
        {
            // Kestrel gave up on the connection: what it wrote is not sent (a Pipe's reader would throw at once).
            End(exception);
            return;
        }

        // The bytes written still go out (a Pipe's reader gets them after the writer completes), then the side ends.
        if (_socket.IsWritable && !TrySendNow())
        {
            return;
        }

        if (_head is null)
        {
            End(null);
        }
        else
        {
            _ = DrainThenEndAsync();
        }
    }

    /// <summary>Sends what the socket takes now; false when the send failed (the side has ended).</summary>
    private bool TrySendNow()
    {
        var head = _head;
        if (head is null)
        {
            return true;
        }

        long sent;
        try
        {
            var tail = _tail!;
            sent = _socket.TrySendSequence(ReferenceEquals(head, tail)
                ? new ReadOnlySequence<byte>(head.Buffer[head.Start..head.End])
                : new ReadOnlySequence<byte>(head, head.Start, tail.Seal(), tail.End));
        }
        catch (Exception ex)
        {
            End(ex);
            return false;
        }

        Consume(sent);
        return true;
    }

    private async ValueTask<FlushResult> FlushWhenWritableAsync(CancellationToken cancellationToken)
    {
        _flushing = true;
        var pending = new CancellationTokenSource();
        using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, pending.Token) : null;
        Volatile.Write(ref _pendingFlush, pending);
        FlushResult result = default;
        try
        {
            if (_cancelNextFlush)
            {
                pending.Cancel();
            }

            while (_head is not null)
            {
                await _socket.WaitWritableAsync(linked?.Token ?? pending.Token).ConfigureAwait(false);
                if (!TrySendNow())
                {
                    result = Ended;
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (pending.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            result = TakeCancelledResult();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            End(ex);
            result = Ended;
        }
        finally
        {
            Volatile.Write(ref _pendingFlush, null);
            pending.Dispose();
            _flushing = false;
            if (_completed && !_ended && _head is null)
            {
                End(null);
            }
        }

        if (_completed && !_ended)
        {
            // Completed while this flush waited, with bytes still unsent (it was cancelled): they go out, then the end.
            _ = DrainThenEndAsync();
        }

        return result;
    }

    private async Task DrainThenEndAsync()
    {
        try
        {
            while (_head is not null)
            {
                await _socket.WaitWritableAsync(CancellationToken.None).ConfigureAwait(false);
                if (!TrySendNow())
                {
                    return;
                }
            }

            End(null);
        }
        catch (Exception ex)
        {
            End(ex);
        }
    }

    private FlushResult TakeCancelledResult()
    {
        _cancelNextFlush = false;
        return new FlushResult(isCanceled: true, isCompleted: false);
    }

    /// <summary>The send side is over: the blocks go back to the pool and the connection hears of it (once).</summary>
    private void End(Exception? reason)
    {
        if (_ended)
        {
            return;
        }

        _ended = true;
        while (_head is { } segment)
        {
            _head = segment.NextSegment;
            segment.Release();
        }

        _tail = null;
        _sendSideEnded(reason);
    }

    /// <summary>Drops <paramref name="sent"/> bytes from the front; blocks fully sent go back to the pool.</summary>
    private void Consume(long sent)
    {
        while (_head is { } head)
        {
            var unsent = head.End - head.Start;
            if (sent < unsent)
            {
                head.Start += (int)sent;
                return;
            }

            sent -= unsent;
            _head = head.NextSegment;
            if (_head is null)
            {
                _tail = null;
            }

            Recycle(head);
        }
    }

    private PooledSegment Append(int sizeHint) => PooledSegment.Append(_pool, sizeHint, ref _head, ref _tail, ref _spare);

    private void Recycle(PooledSegment segment)
    {
        segment.Release();
        _spare = segment;
    }
}
