namespace Portico.FastCgi.Client;

/// <summary>
/// One reusable timer per direction of an exchange: armed before each send or read, disarmed after. A
/// CancellationTokenSource bound to the injected TimeProvider keeps timeouts testable and avoids a timer
/// allocation per I/O call. Arm and Disarm are no-ops once disposed: an exchange may be torn down while
/// its other direction is still unwinding.
/// </summary>
internal sealed class IoDeadline : IDisposable
{
    private readonly CancellationTokenSource _cts;
    private volatile bool _disposed;

    public IoDeadline(TimeProvider timeProvider) =>
        _cts = new CancellationTokenSource(Timeout.InfiniteTimeSpan, timeProvider);

    public bool Expired => _cts.IsCancellationRequested;

    public CancellationToken Token => _cts.Token;

    public void Arm(TimeSpan timeout)
    {
        try
        {
            if (!_disposed)
            {
                _cts.CancelAfter(timeout);
            }
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Disarm()
    {
        try
        {
            if (!_disposed && !_cts.IsCancellationRequested)
            {
                _cts.CancelAfter(Timeout.InfiniteTimeSpan);
            }
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _cts.Dispose();
    }
}
