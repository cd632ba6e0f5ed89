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
/// While a flush waits for room, nginx's send_timeout runs (<see cref="SendTimeout"/>): re-armed whenever the client
/// took something, and when it passes the connection is aborted ("client timed out ... while sending response to
/// client"). A send that does not wait touches no timer.
/// </summary>
internal sealed class LoopOutputWriter : PipeWriter
{

    private static readonly FlushResult Ended = new(isCanceled: false, isCompleted: true);

    private readonly LoopSocket _socket;
    private readonly MemoryPool<byte> _pool;
    private readonly Action<Exception?> _sendSideEnded;
    private readonly Action _sendTimedOut;

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

    // send_timeout: the timer (made at the first wait for room) and the wait it was armed for; a wait that ends
    // moves _waitSerial on, so a timer firing late finds it changed and does nothing.
    private Timer? _sendTimer;
    private long _waitSerial;
    private long _armedFor = -1;
    private long _progress;      // sends that took bytes
    private long _progressAtArm;

    public LoopOutputWriter(LoopSocket socket, MemoryPool<byte> pool, Action<Exception?> sendSideEnded, Action sendTimedOut)
    {
        _socket = socket;
        _pool = pool;
        _sendSideEnded = sendSideEnded;
        _sendTimedOut = sendTimedOut;
    }

    /// <summary>
    /// nginx's send_timeout: how long the client may take nothing while a response waits for room in the socket
    /// (https://nginx.org/en/docs/http/ngx_http_core_module.html#send_timeout: "set only between two successive
    /// write operations, not for the transmission of the whole response"). Set per request from its location.
    /// </summary>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(60);

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

        // A full fence between the flag's store and the load of the pending flush, as on the flush's side: one of the
        // two sees the other's write, so a cancel is never lost between them.
        Interlocked.MemoryBarrier();
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
        Interlocked.Exchange(ref _pendingFlush, pending); // a full fence before _cancelNextFlush is read (CancelPendingFlush)
        FlushResult result = default;
        try
        {
            if (_cancelNextFlush)
            {
                pending.Cancel();
            }

            while (_head is not null)
            {
                ArmSendTimer();
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
            DisarmSendTimer();
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
                ArmSendTimer();
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
        finally
        {
            DisarmSendTimer();
        }
    }

    /// <summary>Before a wait for room: the client has <see cref="SendTimeout"/> from now to take something. Re-armed
    /// only when a send took bytes since (nginx re-arms on progress), so a wake-up that sends nothing gains no time.</summary>
    private void ArmSendTimer()
    {
        var timeout = SendTimeout;
        if (timeout <= TimeSpan.Zero || timeout == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        if (_armedFor == _waitSerial && _progress == _progressAtArm)
        {
            return; // woken, yet the client took nothing: the deadline stands
        }

        _progressAtArm = _progress;
        Volatile.Write(ref _armedFor, _waitSerial);
        var timer = _sendTimer ??= new Timer(static state => ((LoopOutputWriter)state!).SendTimerFired(), this, Timeout.Infinite, Timeout.Infinite);
        try
        {
            timer.Change(timeout, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // The send side ended meanwhile.
        }
    }

    private void DisarmSendTimer()
    {
        if (_sendTimer is null)
        {
            return;
        }

        // A late firing compares the serial and stands down; the timer itself stays for the next wait.
        Volatile.Write(ref _waitSerial, _waitSerial + 1);
        Volatile.Write(ref _armedFor, -1);
    }

    /// <summary>On a timer thread, as Kestrel's own timeouts: aborting the connection is safe from any thread.</summary>
    private void SendTimerFired()
    {
        var armed = Volatile.Read(ref _armedFor);
        if (armed >= 0 && armed == Volatile.Read(ref _waitSerial) && !_ended)
        {
            _sendTimedOut();
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
        _sendTimer?.Dispose();
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
        if (sent > 0)
        {
            _progress++;
        }

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
