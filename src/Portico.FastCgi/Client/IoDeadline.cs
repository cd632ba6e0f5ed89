namespace Portico.FastCgi.Client;

/// <summary>
/// One timer per direction of a connection, made once and re-armed for every send or read it guards: when it
/// fires, it marks itself expired and cancels the connection's I/O (which then cannot be reused). Keeping it on
/// the connection rather than the request spares a timer and a linked token per request, which on a busy
/// event loop is a measurable share of a proxied request's cost. The timer comes from the injected
/// TimeProvider, so timeouts stay testable. Arm and Disarm are no-ops once disposed.
/// </summary>
internal sealed class IoDeadline : IDisposable
{
    private readonly TimeProvider _timeProvider;
    private readonly Action _onExpired;
    private ITimer? _timer;
    private volatile bool _expired;
    private volatile bool _disposed;

    public IoDeadline(TimeProvider timeProvider, Action onExpired)
    {
        _timeProvider = timeProvider;
        _onExpired = onExpired;
    }

    /// <summary>True once the timer fired; the connection's I/O was cancelled then.</summary>
    public bool Expired => _expired;

    public void Arm(TimeSpan timeout)
    {
        if (_disposed || _expired)
        {
            return;
        }

        try
        {
            if (_timer is null)
            {
                _timer = _timeProvider.CreateTimer(static state => ((IoDeadline)state!).Fire(), this, timeout, Timeout.InfiniteTimeSpan);
            }
            else
            {
                _timer.Change(timeout, Timeout.InfiniteTimeSpan);
            }
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Disarm()
    {
        if (_disposed || _timer is null)
        {
            return;
        }

        try
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _timer?.Dispose();
    }

    private void Fire()
    {
        if (_disposed)
        {
            return;
        }

        _expired = true;
        _onExpired();
    }
}
