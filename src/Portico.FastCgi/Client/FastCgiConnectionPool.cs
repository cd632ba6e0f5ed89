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

    // New connections still waiting for their first response head (see ReturnAsync).
    private readonly HashSet<FastCgiConnection> _awaiting = new(ReferenceEqualityComparer.Instance);
    private ITimer? _starvationTimer;

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

    /// <summary>
    /// Takes an idle connection, or opens one. <paramref name="probeSocket"/> asks the kernel whether an idle
    /// connection was closed by the backend (one poll() per request); a request without a body skips it, since a
    /// stale connection fails before anything is consumed and the client retries it once on a fresh one.
    /// </summary>
    internal async ValueTask<(FastCgiConnection Connection, bool Reused)> RentAsync(bool probeSocket, TimeSpan? connectTimeout, CancellationToken cancellationToken)
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
                break;
            }

            if (!IsExpired(candidate) && candidate.LooksHealthyWhileIdle(probeSocket))
            {
                candidate.IsReusable = false;
                return (candidate, true);
            }

            await candidate.DisposeAsync().ConfigureAwait(false);
        }

        return await RentNewAsync(connectTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Always opens a new connection (used for the one retry after a stale pooled one).</summary>
    internal async ValueTask<(FastCgiConnection Connection, bool Reused)> RentNewAsync(TimeSpan? connectTimeout, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var connection = await FastCgiConnection.ConnectAsync(EndPoint, connectTimeout ?? _options.ConnectTimeout, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _connectionsOpened);
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

        return (connection, false);
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
    private bool SomeoneStarves()
    {
        foreach (var waiting in _awaiting)
        {
            if (_options.TimeProvider.GetElapsedTime(waiting.LastUsedTimestamp) > _options.StarvationThreshold)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Takes a connection back after a request; anything not provably clean is closed.</summary>
    internal async ValueTask ReturnAsync(FastCgiConnection connection)
    {
        FirstResponseSeen(connection);
        connection.LastUsedTimestamp = _options.TimeProvider.GetTimestamp();
        if (connection.IsReusable && !connection.IsDisposed && connection.RequestCount < _options.MaxRequestsPerConnection)
        {
            lock (_lock)
            {
                if (!_disposed && _idle.Count < _options.MaxIdleConnections)
                {
                    _idle.Push(connection);
                    return;
                }
            }
        }

        await connection.DisposeAsync().ConfigureAwait(false);
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
