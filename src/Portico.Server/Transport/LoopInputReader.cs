using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Tasks.Sources;

namespace Portico.Server.Transport;

/// <summary>
/// The receive side of a <see cref="LoopConnection"/>, as the transport input Kestrel reads requests from. The
/// connection's receive loop recv()s straight into the block at the end (<see cref="GetReceiveMemory"/>,
/// <see cref="Received"/>), and a read Kestrel left pending completes inline, on the loop thread, so the request
/// runs from the event. Before, this was a Pipe: five lock round trips and a frame between the bytes and the
/// parser on every request (about 2k of a PHP request's instructions). Reads may come from other threads (a
/// request body read after an await), so the chain of blocks is guarded by one lock, never held while a
/// continuation runs. As Kestrel's socket transport, the receive side pauses while 1 MB is buffered unread
/// (MaxRequestBufferSize) and resumes below 512 KB; a block is taken only when bytes are there, and every block
/// is given back once read, so an idle kept-alive connection holds none.
/// </summary>
internal sealed class LoopInputReader : PipeReader, IValueTaskSource<ReadResult>
{
    private const int PauseAt = 1024 * 1024;
    private const int ResumeBelow = 512 * 1024;

    private readonly MemoryPool<byte> _pool;
    private readonly Lock _lock = new();

    // Unread bytes: _head.Start to _tail.End, through the chain. _receiving: the loop is in a recv() into the tail.
    private PooledSegment? _head;
    private PooledSegment? _tail;
    private PooledSegment? _spare;
    private bool _receiving;
    private long _unread;
    private bool _examinedAll;

    private bool _readerCompleted;
    private bool _writerCompleted;
    private Exception? _writerError;
    private bool _cancelNextRead;

    // The read Kestrel waits on (one at a time), completed inline by the receive side.
    private ManualResetValueTaskSourceCore<ReadResult> _read;
    private bool _readPending;
    private CancellationTokenRegistration _readCancellation;

    // The receive side's wait for room (back-pressure), completed by the reader.
    private TaskCompletionSource<bool>? _room;

    public LoopInputReader(MemoryPool<byte> pool)
    {
        _pool = pool;
    }

    /// <summary>True once Kestrel completed the reader: received bytes have nowhere to go.</summary>
    public bool ReaderCompleted => Volatile.Read(ref _readerCompleted);

    // ---- The receive side (the connection's loop). ----

    /// <summary>Room for one recv() of at least <paramref name="minimum"/> bytes at the end of the chain.</summary>
    public Memory<byte> GetReceiveMemory(int minimum)
    {
        lock (_lock)
        {
            var tail = _tail;
            if (tail is null || tail.Free < minimum)
            {
                tail = Append(minimum);
            }

            _receiving = true;
            return tail.Buffer[tail.End..];
        }
    }

    /// <summary>Takes in <paramref name="count"/> bytes received into <see cref="GetReceiveMemory"/>'s room; a
    /// pending read completes with them, inline. Returns a task to await before the next receive while the unread
    /// bytes are at the pause mark (null: go on), completed with false when the receive side should stop.</summary>
    public Task<bool>? Received(int count)
    {
        ReadResult result = default;
        var complete = false;
        CancellationTokenRegistration registration = default;
        Task<bool>? pause = null;
        lock (_lock)
        {
            _receiving = false;
            if (_readerCompleted)
            {
                // Completed during the recv(), which left the tail for this side to give back.
                ReleaseAllLocked();
                return Task.FromResult(false);
            }

            _tail!.End += count;
            _unread += count;
            _examinedAll = false;
            if (_readPending)
            {
                _readPending = false;
                (registration, _readCancellation) = (_readCancellation, default);
                result = ResultLocked();
                complete = true;
            }

            if (_unread >= PauseAt)
            {
                _room = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                pause = _room.Task;
            }
        }

        if (complete)
        {
            registration.Dispose();
            _read.SetResult(result);
        }

        return pause;
    }

    /// <summary>The recv() after <see cref="GetReceiveMemory"/> found nothing (EAGAIN).</summary>
    public void ReceivedNothing()
    {
        lock (_lock)
        {
            _receiving = false;
            if (_readerCompleted)
            {
                ReleaseAllLocked();
            }
        }
    }

    /// <summary>The client's end (null: a FIN) or the receive's failure: a pending read completes, and every later
    /// read returns what is left, then IsCompleted (or throws the error).</summary>
    public void CompleteWriting(Exception? error)
    {
        ReadResult result = default;
        var complete = false;
        CancellationTokenRegistration registration = default;
        lock (_lock)
        {
            if (_writerCompleted)
            {
                return;
            }

            _writerCompleted = true;
            _writerError = error;
            _receiving = false;
            if (_readerCompleted)
            {
                ReleaseAllLocked();
            }

            if (_readPending)
            {
                _readPending = false;
                (registration, _readCancellation) = (_readCancellation, default);
                complete = true;
                if (error is null)
                {
                    result = ResultLocked();
                }
            }
        }

        if (!complete)
        {
            return;
        }

        registration.Dispose();
        if (error is not null)
        {
            _read.SetException(error);
        }
        else
        {
            _read.SetResult(result);
        }
    }

    /// <summary>Releases a receive side paused for room (the connection is ending).</summary>
    public void StopWaitingForRoom()
    {
        TaskCompletionSource<bool>? room;
        lock (_lock)
        {
            room = _room;
            _room = null;
        }

        room?.TrySetResult(false);
    }

    // ---- The reader (Kestrel). ----

    public override bool TryRead(out ReadResult result)
    {
        lock (_lock)
        {
            return TryReadLocked(out result);
        }
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (TryReadLocked(out var result))
            {
                return new ValueTask<ReadResult>(result);
            }

            cancellationToken.ThrowIfCancellationRequested();
            _read.Reset();
            _readPending = true;
        }

        var version = _read.Version;
        if (cancellationToken.CanBeCanceled)
        {
            // Kept only while the read still waits: one that completed meanwhile must not leave it registered.
            var registration = cancellationToken.UnsafeRegister(static (state, token) => ((LoopInputReader)state!).CancelRead(token), this);
            lock (_lock)
            {
                if (_readPending)
                {
                    (_readCancellation, registration) = (registration, default);
                }
            }

            registration.Dispose();
        }

        return new ValueTask<ReadResult>(this, version);
    }

    private bool TryReadLocked(out ReadResult result)
    {
        ObjectDisposedException.ThrowIf(_readerCompleted, this);
        if (_cancelNextRead)
        {
            _cancelNextRead = false;
            result = new ReadResult(BufferLocked(), isCanceled: true, _writerCompleted);
            return true;
        }

        if (_writerError is not null)
        {
            throw _writerError;
        }

        if ((_unread > 0 && !_examinedAll) || _writerCompleted)
        {
            result = ResultLocked();
            return true;
        }

        result = default;
        return false;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        TaskCompletionSource<bool>? room = null;
        lock (_lock)
        {
            if (_readerCompleted)
            {
                return;
            }

            // Everything examined: ReadAsync then waits for more. Positions compare by their place in the stream
            // (running index), since the chain may end in an empty block the loop is receiving into.
            _examinedAll = examined.GetObject() is not PooledSegment examinedSegment
                || _tail is null
                || examinedSegment.RunningIndex + examined.GetInteger() >= _tail.RunningIndex + _tail.End;

            if (consumed.GetObject() is not PooledSegment consumedSegment)
            {
                // The default position: nothing was consumed.
                return;
            }

            while (_head is { } head && !ReferenceEquals(head, consumedSegment))
            {
                _unread -= head.End - head.Start;
                _head = head.NextSegment;
                Recycle(head);
            }

            if (_head is not { } first)
            {
                throw new InvalidOperationException("The position consumed is not in the unread bytes.");
            }

            var index = consumed.GetInteger();
            _unread -= index - first.Start;
            first.Start = index;
            if (_unread == 0 && !_receiving)
            {
                // Everything read: the block goes back to the pool (an idle kept-alive connection holds none). One
                // the loop is receiving into stays, read to its end.
                _head = _tail = null;
                Recycle(first);
            }

            if (_room is not null && _unread < ResumeBelow)
            {
                room = _room;
                _room = null;
            }
        }

        room?.TrySetResult(true);
    }

    public override void CancelPendingRead()
    {
        ReadResult result;
        CancellationTokenRegistration registration;
        lock (_lock)
        {
            if (!_readPending)
            {
                _cancelNextRead = true;
                return;
            }

            _readPending = false;
            (registration, _readCancellation) = (_readCancellation, default);
            result = new ReadResult(BufferLocked(), isCanceled: true, _writerCompleted);
        }

        registration.Dispose();
        _read.SetResult(result);
    }

    public override void Complete(Exception? exception = null)
    {
        TaskCompletionSource<bool>? room;
        lock (_lock)
        {
            if (_readerCompleted)
            {
                return;
            }

            _readerCompleted = true;
            if (!_receiving)
            {
                ReleaseAllLocked();
            }

            room = _room;
            _room = null;
        }

        room?.TrySetResult(false);
    }

    private void CancelRead(CancellationToken token)
    {
        lock (_lock)
        {
            if (!_readPending)
            {
                return;
            }

            _readPending = false;
            _readCancellation = default;
        }

        _read.SetException(new OperationCanceledException(token));
    }

    private ReadResult ResultLocked() => new(BufferLocked(), isCanceled: false, _writerCompleted);

    private ReadOnlySequence<byte> BufferLocked()
    {
        if (_head is null)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        return new ReadOnlySequence<byte>(_head, _head.Start, _tail!.Seal(), _tail.End);
    }

    private PooledSegment Append(int minimum) => PooledSegment.Append(_pool, minimum, ref _head, ref _tail, ref _spare);

    private void Recycle(PooledSegment segment)
    {
        segment.Release();
        _spare = segment;
    }

    private void ReleaseAllLocked()
    {
        while (_head is { } head)
        {
            _head = head.NextSegment;
            head.Release();
        }

        _tail = null;
        _unread = 0;
    }

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _read.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _read.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _read.OnCompleted(continuation, state, token, flags);
}
