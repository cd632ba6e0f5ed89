namespace Portico.FastCgi.Client;

/// <summary>
/// One deadline per direction of a connection, made once and re-armed for every send or read it guards: when
/// it passes, it marks itself expired and cancels the connection's I/O (which then cannot be reused).
/// Arming only moves a timestamp; the timer is lazy, like nginx's and Kestrel's timers: it is scheduled when
/// it is not already due earlier, and when it fires early (the deadline moved on) it re-schedules itself for
/// the rest. A request on a kept-alive connection thus touches no timer at all, which on a busy event loop is
/// a measurable share of a proxied request (each timer change takes the runtime's timer-queue lock).
/// The timer comes from the injected TimeProvider, so timeouts stay testable. No-op once disposed.
/// </summary>
internal sealed class IoDeadline : IDisposable
{
    // Longer timeouts are as good as infinite and would overflow the timestamp arithmetic.
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(30);

    private readonly TimeProvider _timeProvider;
    private readonly Action _onExpired;
    private readonly Lock _lock = new();
    private ITimer? _timer;
    private long _deadline;       // timestamp (TimeProvider ticks) the guarded operation must finish by
    private long _scheduledFor;   // timestamp the timer is due at, or long.MaxValue when not scheduled
    private volatile bool _active;
    private volatile bool _expired;
    private bool _disposed;

    public IoDeadline(TimeProvider timeProvider, Action onExpired)
    {
        _timeProvider = timeProvider;
        _onExpired = onExpired;
        _scheduledFor = long.MaxValue;
    }

    /// <summary>True once the deadline passed; the connection's I/O was cancelled then.</summary>
    public bool Expired => _expired;

    public void Arm(TimeSpan timeout)
    {
        if (timeout < TimeSpan.Zero)
        {
            Disarm(); // Timeout.InfiniteTimeSpan: nothing to guard
            return;
        }

        if (timeout > MaxTimeout)
        {
            timeout = MaxTimeout;
        }

        var now = _timeProvider.GetTimestamp();
        var deadline = now + (long)(timeout.TotalSeconds * _timeProvider.TimestampFrequency);
        lock (_lock)
        {
            if (_disposed || _expired)
            {
                return;
            }

            _deadline = deadline;
            _active = true;
            if (deadline < _scheduledFor)
            {
                Schedule(timeout);
                _scheduledFor = deadline;
            }
        }
    }

    /// <summary>The guarded operation finished. No lock: a timer firing at this very moment may still expire
    /// the deadline, exactly as it could just before the call (it runs every send and read of a response).</summary>
    public void Disarm() => _active = false;

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _active = false;
        }

        _timer?.Dispose();
    }

    private void Schedule(TimeSpan dueIn)
    {
        try
        {
            if (_timer is null)
            {
                _timer = _timeProvider.CreateTimer(static state => ((IoDeadline)state!).Fire(), this, dueIn, Timeout.InfiniteTimeSpan);
            }
            else
            {
                _timer.Change(dueIn, Timeout.InfiniteTimeSpan);
            }
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void Fire()
    {
        lock (_lock)
        {
            _scheduledFor = long.MaxValue;
            if (_disposed || !_active)
            {
                return; // nothing guarded now; the next Arm schedules again
            }

            var remaining = _deadline - _timeProvider.GetTimestamp();
            if (remaining > 0)
            {
                // The deadline moved on since the timer was set: sleep for the rest.
                _scheduledFor = _deadline;
                Schedule(TimeSpan.FromSeconds((double)remaining / _timeProvider.TimestampFrequency));
                return;
            }

            _expired = true;
        }

        _onExpired();
    }
}
