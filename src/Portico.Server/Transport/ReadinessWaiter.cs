using System.Threading.Tasks.Sources;

namespace Portico.Server.Transport;

/// <summary>
/// One direction's wait for epoll readiness (readable or writable) of a <see cref="LoopSocket"/>: at most one
/// waiter at a time, reused for every wait. Whoever moves the state from armed to idle completes it: the loop
/// on an event, the waiter itself when readiness came while it armed, a cancellation, or the close. The
/// continuation runs inline on the completing thread, the loop's on an event (the point of the loop).
/// </summary>
internal sealed class ReadinessWaiter : IValueTaskSource
{
    private const int Idle = 0;
    private const int Armed = 1;

    // Continuations run inline on the completing thread (RunContinuationsAsynchronously stays false).
    private ManualResetValueTaskSourceCore<bool> _core;
    private int _state;
    private CancellationTokenRegistration _cancellation;

    /// <summary>Events seen for this direction; a waiter compares it with what it last drained.</summary>
    public int Sequence;

    /// <summary>The <see cref="Sequence"/> at which the socket was last found drained (EAGAIN or a short
    /// read); ready while they differ.</summary>
    public int DrainedAt = -1;

    public bool IsReady => Volatile.Read(ref Sequence) != DrainedAt;

    /// <summary>Records that the socket had nothing left as of <paramref name="sequenceBefore"/>.</summary>
    public void Drained(int sequenceBefore) => DrainedAt = sequenceBefore;

    /// <summary>Takes back a drain: the next call tries the socket before waiting for an event.</summary>
    public void Undrain() => DrainedAt = -1;

    /// <summary>Waits until an event arrives after the last drain. <paramref name="socket"/> tells whether it
    /// closed meanwhile.</summary>
    public ValueTask WaitAsync(LoopSocket socket, CancellationToken cancellationToken)
    {
        _core.Reset();
        Volatile.Write(ref _state, Armed);
        if (IsReady || socket.IsClosed)
        {
            // The event (or the close) came between the caller's check and the arming.
            if (Interlocked.CompareExchange(ref _state, Idle, Armed) == Armed)
            {
                return socket.IsClosed ? ValueTask.FromException(LoopSocket.ClosedException()) : default;
            }
        }
        else if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(static (state, token) => ((ReadinessWaiter)state!).Cancel(token), this);
        }

        return new ValueTask(this, _core.Version);
    }

    /// <summary>On the loop thread: an event for this direction.</summary>
    public void Signal()
    {
        Interlocked.Increment(ref Sequence);
        if (Interlocked.CompareExchange(ref _state, Idle, Armed) == Armed)
        {
            _core.SetResult(true);
        }
    }

    /// <summary>The socket closed: a pending wait fails.</summary>
    public void Fail(Exception error)
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Armed) == Armed)
        {
            _core.SetException(error);
        }
    }

    private void Cancel(CancellationToken token)
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Armed) == Armed)
        {
            _core.SetException(new OperationCanceledException(token));
        }
    }

    void IValueTaskSource.GetResult(short token)
    {
        // The waiter resumes here whoever completed it; a registration left armed could cancel a later wait.
        // (A cancellation racing the completion only ever hits a connection already being cancelled.)
        _cancellation.Unregister();
        _cancellation = default;
        _core.GetResult(token);
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
