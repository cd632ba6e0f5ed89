namespace Portico.FastCgi.Client;

/// <summary>
/// One reusable timer per exchange: armed before each send or read, disarmed after. A CancellationTokenSource
/// bound to the injected TimeProvider keeps timeouts testable and avoids a timer allocation per I/O call.
/// </summary>
internal sealed class IoDeadline : IDisposable
{
    private readonly CancellationTokenSource _cts;

    public IoDeadline(TimeProvider timeProvider) =>
        _cts = new CancellationTokenSource(Timeout.InfiniteTimeSpan, timeProvider);

    public bool Expired => _cts.IsCancellationRequested;

    public CancellationToken Token => _cts.Token;

    public void Arm(TimeSpan timeout) => _cts.CancelAfter(timeout);

    public void Disarm()
    {
        if (!_cts.IsCancellationRequested)
        {
            _cts.CancelAfter(Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose() => _cts.Dispose();
}
