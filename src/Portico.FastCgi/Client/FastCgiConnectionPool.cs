using System.Threading.Tasks.Sources;

namespace Portico.FastCgi.Client;

/// <summary>
/// Kept-alive connections to one endpoint. It never holds more than <see cref="FastCgiPoolOptions.MaxIdleConnections"/>
/// idle connections, and only takes back a connection whose last response was read through FCGI_END_REQUEST.
/// Active connections are not limited here: like nginx, back-pressure comes from the backend's listen queue.
/// </summary>
public sealed class FastCgiConnectionPool : IAsyncDisposable
{
    private readonly Stack<FastCgiConnection> _idle = new();
    private readonly Lock _lock = new();
    private readonly FastCgiPoolOptions _options;
    private readonly ITimer? _sweeper;
    private bool _disposed;
    private long _connectionsOpened;
    private int _open;

    // New connections still waiting for their first response head (see ReturnAsync).
    private readonly HashSet<FastCgiConnection> _awaiting = new(ReferenceEqualityComparer.Instance);
    private ITimer? _starvationTimer;

    // Requests waiting for a connection another request is about to hand back (see TryWaitForHandOff).
    private readonly Queue<HandOff> _waiters = new();
    private ITimer? _handOffTimer;

    // While connections keep coming back, the hand-off timer checks for late waiters every this many waits (see ReleaseLateWaiters).
    private const int ActiveCheckWaits = 4;
    private long _handOffTimerDue = long.MaxValue; // timestamp the hand-off timer is due at, MaxValue when idle

    // When a connection last came back, and how often they come back (a moving average of the gap between two
    // returns, in timestamp ticks).
    private long _lastReturn;

    // When a request last went to connect (see TryWaitForHandOff: at least one every ProbeWaits hand-off waits).
    private long _lastConnect;
    private const int ProbeWaits = 10;
    private double _returnGap = double.MaxValue;

    public FastCgiConnectionPool(FastCgiEndPoint endPoint, FastCgiPoolOptions? options = null)
    {
        EndPoint = endPoint ?? throw new ArgumentNullException(nameof(endPoint));
        _options = options ?? new FastCgiPoolOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(_options.MaxIdleConnections);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxRequestsPerConnection, 1);
        if (_options.MaxIdleConnections > 0 && _options.IdleTimeout > TimeSpan.Zero && _options.IdleTimeout != Timeout.InfiniteTimeSpan)
        {
            // Idle php-fpm connections pin workers, so expired ones are closed even when no request comes.
            var period = _options.IdleTimeout / 2;
            _sweeper = _options.TimeProvider.CreateTimer(static state => ((FastCgiConnectionPool)state!).SweepExpired(), this, period, period);
        }
    }

    public FastCgiEndPoint EndPoint { get; }

    public FastCgiPoolOptions Options => _options;

    /// <summary>Idle connections currently held.</summary>
    public int IdleCount
    {
        get
        {
            lock (_lock)
            {
                return _idle.Count;
            }
        }
    }

    /// <summary>Connections opened since the pool was created (a reuse indicator for tests and metrics).</summary>
    public long ConnectionsOpened => Interlocked.Read(ref _connectionsOpened);

    /// <summary>Connections open now, in use or idle.</summary>
    public int OpenCount => Volatile.Read(ref _open);

    /// <summary>
    /// Takes an idle connection if there is one (<see cref="FastCgiClient"/> then waits for a hand-off or connects).
    /// <paramref name="probeSocket"/> asks the kernel whether an idle connection was closed by the backend (one poll()
    /// per request); a request without a body skips it, since a stale connection fails before anything is consumed and
    /// the client retries it once on a fresh one.
    /// </summary>
    internal bool TryRentIdle(bool probeSocket, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out FastCgiConnection? connection)
    {
        while (true)
        {
            FastCgiConnection? candidate = null;
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_idle.Count > 0)
                {
                    candidate = _idle.Pop();
                }
            }

            if (candidate is null)
            {
                connection = null;
                return false;
            }

            if (!IsExpired(candidate) && candidate.LooksHealthyWhileIdle(probeSocket))
            {
                candidate.IsReusable = false;
                connection = candidate;
                return true;
            }

            candidate.Close();
        }
    }

    /// <summary>The connection a hand-off brought (null: connect instead), if it is still fit to use.</summary>
    internal static FastCgiConnection? TakeHandedOff(FastCgiConnection? handed)
    {
        if (handed is null)
        {
            return null;
        }

        if (handed.LooksHealthyWhileIdle(probeSocket: false))
        {
            handed.IsReusable = false;
            return handed;
        }

        handed.Close();
        return null;
    }

    /// <summary>
    /// With no idle connection, a new one is opened, as nginx does. But when <see cref="FastCgiPoolOptions.MaxIdleConnections"/>
    /// connections are open already and they come back every few microseconds, a new one could not be kept: it
    /// would be closed at its return, once the idle ones are at the cap, and opened again on the next burst of
    /// requests (an event loop takes a batch of responses, then the batch of requests they set off). That churn
    /// costs a connect, a close and a php-fpm accept each time, and spreads the load over more php-fpm workers, each
    /// with a cold cache. Then the request waits, at most <see cref="FastCgiPoolOptions.HandOffWait"/>, for the next
    /// connection handed back instead. Returns null when the request should connect at once.
    /// </summary>
    internal HandOff? TryWaitForHandOff(CancellationToken cancellationToken)
    {
        var wait = _options.HandOffWait;
        if (wait <= TimeSpan.Zero || _options.MaxIdleConnections == 0)
        {
            return null;
        }

        var time = _options.TimeProvider;
        var now = time.GetTimestamp();
        var window = (long)(wait.TotalSeconds * time.TimestampFrequency);
        lock (_lock)
        {
            // Only while the connections open could all be kept, and one is expected back well within the wait.
            if (_disposed || Volatile.Read(ref _open) < _options.MaxIdleConnections || now - _lastReturn > window || _returnGap > window / 2)
            {
                return null;
            }

            // A probe: one request connects every ProbeWaits waits all the same. Waiting caps the requests the backend
            // runs at once at the connections open, which costs nothing when it is busy (a CPU-bound PHP) but halves
            // the throughput of one that mostly waits (a database, an API) when more clients than connections come.
            // So the pool grows by one connection every 50 ms while that helps; when it does not, the extra connection
            // queues behind busy workers and the starvation rule closes one again (measured under CPU-bound load:
            // about 0.2% of requests connect).
            if (now - Volatile.Read(ref _lastConnect) > ProbeWaits * window)
            {
                return null;
            }

            var handOff = new HandOff(now, cancellationToken);
            _waiters.Enqueue(handOff);

            // Lazy, as IoDeadline: a timer already due (for an earlier waiter) covers this one too, and a waiter served by
            // a return does not cancel it. Under load waiters come and go thousands of times a second; re-arming each
            // time took the runtime's timer lock and woke its timer thread, and each fire wakes a pool thread.
            if (_handOffTimerDue == long.MaxValue)
            {
                _handOffTimer ??= time.CreateTimer(static state => ((FastCgiConnectionPool)state!).ReleaseLateWaiters(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                _handOffTimer.Change(wait, Timeout.InfiniteTimeSpan);
                _handOffTimerDue = now + window;
            }

            return handOff;
        }
    }

    /// <summary>
    /// Waiters past <see cref="FastCgiPoolOptions.HandOffWait"/> (or cancelled) go and connect. Run by the hand-off
    /// timer, which is a backstop for when connections stop coming back: while they come back every few microseconds
    /// they serve the waiters in turn, so the timer is then re-armed for <see cref="ActiveCheckWaits"/> waits, not one.
    /// Each fire wakes the runtime's timer thread and a pool thread (measured: 220 fires a second, 4% of the process's
    /// CPU under PHP load, when it was re-armed for the next waiter's wait). A waiter queued just before the returns
    /// stop thus waits at most that longer period.
    /// </summary>
    internal void ReleaseLateWaiters()
    {
        var time = _options.TimeProvider;
        List<HandOff>? late = null;
        lock (_lock)
        {
            _handOffTimerDue = long.MaxValue;

            // While connections keep coming back the queue moves: a waiter late only because many wait before it stays
            // (connecting would only queue it in the backend's accept queue, behind busy workers; the probe in
            // TryWaitForHandOff grows the pool when more connections help). Cancelled ones always go.
            var moving = time.GetElapsedTime(_lastReturn) < _options.HandOffWait;
            while (_waiters.TryPeek(out var first) && (first.IsCancelled || (!moving && time.GetElapsedTime(first.Since) >= _options.HandOffWait)))
            {
                (late ??= []).Add(_waiters.Dequeue());
            }

            // Waiters served since the timer was armed are gone; the oldest one left sets the next due time.
            if (!_disposed && _waiters.TryPeek(out var next))
            {
                var now = time.GetTimestamp();
                var window = (long)(_options.HandOffWait.TotalSeconds * time.TimestampFrequency);
                var dueTicks = Math.Max(window - (now - next.Since), time.TimestampFrequency / 1000);
                if (now - _lastReturn < window)
                {
                    dueTicks = Math.Max(dueTicks, ActiveCheckWaits * window);
                }

                _handOffTimer?.Change(TimeSpan.FromSeconds((double)dueTicks / time.TimestampFrequency), Timeout.InfiniteTimeSpan);
                _handOffTimerDue = now + dueTicks;
            }
        }

        if (late is not null)
        {
            foreach (var waiter in late)
            {
                waiter.Complete(null);
            }
        }
    }

    /// <summary>Always opens a new connection (also the one retry after a stale pooled one); a refusal or a connect
    /// timeout is returned, not thrown.</summary>
    internal async ValueTask<(FastCgiConnection? Connection, FastCgiException? Failure)> TryRentNewAsync(TimeSpan? connectTimeout, CancellationToken cancellationToken, bool keepAlive = false)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);

        // Counted from the start: requests that come while it connects must see it, or each would connect too.
        Interlocked.Increment(ref _open);
        Volatile.Write(ref _lastConnect, _options.TimeProvider.GetTimestamp());
        FastCgiConnection? connection;
        FastCgiException? failure;
        try
        {
            (connection, failure) = await FastCgiConnection.TryConnectAsync(EndPoint, _options.Connector, connectTimeout ?? _options.ConnectTimeout, _options.TimeProvider, cancellationToken, keepAlive).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _open);
            throw;
        }

        if (connection is null)
        {
            Interlocked.Decrement(ref _open);
            return (null, failure);
        }

        Interlocked.Increment(ref _connectionsOpened);
        connection.Owner = this;
        connection.AwaitingFirstResponse = true;
        lock (_lock)
        {
            _awaiting.Add(connection);
            if (_starvationTimer is null && _options.MaxIdleConnections > 0 && !_disposed)
            {
                var period = _options.StarvationThreshold / 2;
                _starvationTimer = _options.TimeProvider.CreateTimer(static state => ((FastCgiConnectionPool)state!).CloseIdleIfStarving(), this, period, period);
            }
        }

        return (connection, null);
    }

    /// <summary>The first response head arrived on a new connection (or it failed): it no longer waits for a worker.</summary>
    internal void FirstResponseSeen(FastCgiConnection connection)
    {
        if (connection.AwaitingFirstResponse)
        {
            connection.AwaitingFirstResponse = false;
            lock (_lock)
            {
                _awaiting.Remove(connection);
            }
        }
    }

    /// <summary>
    /// Idle kept-alive connections pin backend workers (php-fpm serves one connection per worker). When every
    /// worker is pinned by an idle connection, a new connection queued at the backend would wait until the
    /// idle ones expire (keepalive_timeout): a stall nginx has too. So when a new connection has waited
    /// longer than the threshold for its first answer, the idle connections are closed to free workers.
    /// Connections that keep being reused are left alone (closing them under load only adds connects).
    /// </summary>
    internal void CloseIdleIfStarving()
    {
        FastCgiConnection[]? idle = null;
        lock (_lock)
        {
            if (_disposed || _awaiting.Count == 0 || _idle.Count == 0 || !SomeoneStarves())
            {
                return;
            }

            idle = _idle.ToArray();
            _idle.Clear();
        }

        foreach (var c in idle)
        {
            _ = c.DisposeAsync().AsTask();
        }
    }

    /// <summary>True when a new connection has waited longer than <see cref="FastCgiPoolOptions.StarvationThreshold"/>
    /// for its first answer (it is probably queued behind workers that idle kept-alive connections pin).</summary>
    private bool SomeoneStarves() => SomeoneStarves(_options.StarvationThreshold);

    /// <summary>True when a new connection has waited longer than <paramref name="threshold"/> for its first answer.
    /// While connections are being handed from request to request none is closed, so a new connection queued at the
    /// backend would wait for a worker until load drops: a short threshold lets the next return close instead.</summary>
    private bool SomeoneStarves(TimeSpan threshold)
    {
        foreach (var waiting in _awaiting)
        {
            if (_options.TimeProvider.GetElapsedTime(waiting.LastUsedTimestamp) > threshold)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True when a new connection has waited longer than <paramref name="threshold"/> for its first answer; its clock
    /// then starts again, so one close frees one worker for it. Without that, every return until its answer came (the
    /// backend's whole response time) closed its connection too: measured with a 2 ms PHP script and 32 clients, the
    /// pool fell from 8 connections to 4 again and again, at 0.8 of the throughput.
    /// </summary>
    private bool RescueStarving(TimeSpan threshold, long now)
    {
        foreach (var waiting in _awaiting)
        {
            if (_options.TimeProvider.GetElapsedTime(waiting.LastUsedTimestamp, now) > threshold)
            {
                waiting.LastUsedTimestamp = now;
                return true;
            }
        }

        return false;
    }

    /// <summary>Takes a connection back after a request; anything not provably clean is closed.</summary>
    internal async ValueTask ReturnAsync(FastCgiConnection connection)
    {
        FirstResponseSeen(connection);
        var now = _options.TimeProvider.GetTimestamp();
        connection.LastUsedTimestamp = now;
        if (connection.IsReusable && !connection.IsDisposed && connection.RequestCount < _options.MaxRequestsPerConnection)
        {
            HandOff? waiter = null;
            List<HandOff>? toConnect = null;
            var kept = false;
            lock (_lock)
            {
                NoteReturn(now);
                if (!_disposed)
                {
                    // Cancelled waiters go on (to fail) at once.
                    while (_waiters.TryPeek(out var first) && first.IsCancelled)
                    {
                        (toConnect ??= []).Add(_waiters.Dequeue());
                    }

                    // Unless a new connection is stuck in the backend's accept queue: closing this one frees the worker
                    // it waits for. The waiters wait on for the next return (connecting would queue one more).
                    var starving = _waiters.Count > 0 && _awaiting.Count > 0 && RescueStarving(4 * _options.HandOffWait, now);
                    if (!starving && _waiters.TryDequeue(out var next))
                    {
                        waiter = next;
                    }
                    else if (!starving && _idle.Count < _options.MaxIdleConnections)
                    {
                        _idle.Push(connection);
                        kept = true;
                    }
                }
            }

            // Completed outside the lock: a waiting request runs on from here up to its next real wait.
            if (toConnect is not null)
            {
                foreach (var late in toConnect)
                {
                    late.Complete(null);
                }
            }

            if (kept)
            {
                return;
            }

            if (waiter is not null && waiter.TryClaim())
            {
                // Claimed now, so the connection is the waiter's whatever comes in between (the hand-off timer's
                // release of late waiters finds it completed). With a dispatcher it runs later: on an event loop, after
                // this request's response is sent. Run inline, the waiter's FastCGI request went out first and woke a
                // php-fpm worker that, on a shared core, preempted the loop before the response left: with php-fpm on
                // the server's core, 1.01 context switches per request instead of 0.62 and 6 us more system time
                // (docs/architecture-notes.md, session 12).
                if (_options.HandOffDispatcher is { } dispatch)
                {
                    waiter.Handed = connection;
                    dispatch(static state => ((HandOff)state!).DeliverHanded(), waiter);
                }
                else
                {
                    waiter.Deliver(connection);
                }

                return;
            }

            await connection.DisposeAsync().ConfigureAwait(false);
            return;
        }

        // A connection lost, not a surplus one closed: the first waiter connects in its place.
        await connection.DisposeAsync().ConfigureAwait(false);
        ReplaceLost();
    }

    /// <summary>A connection in use was closed (its response ended without KEEP_CONN, or the exchange failed): the first
    /// waiting request stops waiting for it and connects, so the connections open stay as many.</summary>
    internal void ReplaceLost()
    {
        HandOff? first;
        lock (_lock)
        {
            _waiters.TryDequeue(out first);
        }

        first?.Complete(null);
    }

    /// <summary>Reported once by each connection this pool opened, when its socket closes.</summary>
    internal void ConnectionClosed() => Interlocked.Decrement(ref _open);

    private void NoteReturn(long now)
    {
        if (_lastReturn != 0)
        {
            var gap = now - _lastReturn;
            _returnGap = _returnGap == double.MaxValue ? gap : ((_returnGap * 7) + gap) / 8;
        }

        _lastReturn = now;
    }

    /// <summary>
    /// A request waiting for a returned connection; completes once, with it or with null to connect instead. Its own
    /// value-task source (not a TaskCompletionSource and its Task): a hand-off happens for most requests under load.
    /// </summary>
    internal sealed class HandOff(long since, CancellationToken cancellationToken) : IValueTaskSource<FastCgiConnection?>
    {
        private ManualResetValueTaskSourceCore<FastCgiConnection?> _core; // continuations run inline (see Complete)
        private int _completed;

        public long Since { get; } = since;

        public bool IsCancelled => cancellationToken.IsCancellationRequested;

        public ValueTask<FastCgiConnection?> WaitAsync() => new(this, _core.Version);

        // Runs the waiting request inline up to its next real wait (it sends its request and awaits the answer),
        // so a hand-off costs no thread hop. False when it was completed already (a late waiter released by the timer).
        // A connection handed back goes through TryClaim and Deliver instead (see ReturnAsync: its delivery may be
        // dispatched to run later).
        public bool Complete(FastCgiConnection? connection)
        {
            if (!TryClaim())
            {
                return false;
            }

            _core.SetResult(connection);
            return true;
        }

        /// <summary>The connection being handed over, between <see cref="TryClaim"/> and <see cref="DeliverHanded"/>.</summary>
        public FastCgiConnection? Handed { get; set; }

        /// <summary>Makes this the one completion (false: completed already); <see cref="Deliver"/> then runs it.</summary>
        public bool TryClaim() => Interlocked.Exchange(ref _completed, 1) == 0;

        public void Deliver(FastCgiConnection? connection) => _core.SetResult(connection);

        public void DeliverHanded()
        {
            var connection = Handed;
            Handed = null;
            _core.SetResult(connection);
        }

        FastCgiConnection? IValueTaskSource<FastCgiConnection?>.GetResult(short token) => _core.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource<FastCgiConnection?>.GetStatus(short token) => _core.GetStatus(token);

        void IValueTaskSource<FastCgiConnection?>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }

    private bool IsExpired(FastCgiConnection connection) =>
        _options.IdleTimeout != Timeout.InfiniteTimeSpan
        && _options.TimeProvider.GetElapsedTime(connection.LastUsedTimestamp) >= _options.IdleTimeout;

    /// <summary>Closes idle connections past their idle timeout. Called by a timer; callable from tests.</summary>
    internal void SweepExpired()
    {
        List<FastCgiConnection>? expired = null;
        lock (_lock)
        {
            if (_idle.Count == 0)
            {
                return;
            }

            var keep = new List<FastCgiConnection>(_idle.Count);
            while (_idle.Count > 0)
            {
                var c = _idle.Pop();
                if (IsExpired(c))
                {
                    (expired ??= []).Add(c);
                }
                else
                {
                    keep.Add(c);
                }
            }

            // Restore the stack order (most recently used on top).
            for (var i = keep.Count - 1; i >= 0; i--)
            {
                _idle.Push(keep[i]);
            }
        }

        if (expired is not null)
        {
            foreach (var c in expired)
            {
                _ = c.DisposeAsync().AsTask();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        FastCgiConnection[] idle;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            idle = _idle.ToArray();
            _idle.Clear();
        }

        if (_sweeper is not null)
        {
            await _sweeper.DisposeAsync().ConfigureAwait(false);
        }

        HandOff[] waiters;
        ITimer? handOffTimer;
        lock (_lock)
        {
            waiters = _waiters.ToArray();
            _waiters.Clear();
            handOffTimer = _handOffTimer;
        }

        foreach (var waiter in waiters)
        {
            waiter.Complete(null);
        }

        if (handOffTimer is not null)
        {
            await handOffTimer.DisposeAsync().ConfigureAwait(false);
        }

        ITimer? starvation;
        lock (_lock)
        {
            starvation = _starvationTimer;
        }

        if (starvation is not null)
        {
            await starvation.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var c in idle)
        {
            await c.DisposeAsync().ConfigureAwait(false);
        }
    }
}
