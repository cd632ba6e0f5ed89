namespace Portico.Server.Hosting;

/// <summary>
/// nginx's connection serial number (<c>$connection</c>) and request counter
/// (<c>$connection_requests</c>), attached to each accepted connection. HTTP/1.1 requests on a
/// connection run one at a time, so the counter needs no lock; Interlocked keeps it honest
/// should a multiplexed protocol reuse it.
/// </summary>
internal sealed class ConnectionSerialFeature
{
    private static long s_next;
    private int _requests;

    private ConnectionSerialFeature(long serial) => Serial = serial;

    public long Serial { get; }

    public static ConnectionSerialFeature Create() => new(Interlocked.Increment(ref s_next));

    public int NextRequest() => Interlocked.Increment(ref _requests);
}
