using System.Net;

namespace Portico.Server.Hosting;

/// <summary>
/// nginx's connection serial number (<c>$connection</c>), request counter (<c>$connection_requests</c>)
/// and the connection's addresses, attached to each accepted connection. HTTP/1.1 requests on a
/// connection run one at a time, so the counter needs no lock; Interlocked keeps it honest
/// should a multiplexed protocol reuse it.
/// </summary>
internal sealed class ConnectionSerialFeature
{
    private static long s_next;
    private int _requests;

    private ConnectionSerialFeature(long serial, ConnectionAddresses addresses)
    {
        Serial = serial;
        Addresses = addresses;
    }

    public long Serial { get; }

    /// <summary>The connection's ends, with their text formatted once for all its requests.</summary>
    public ConnectionAddresses Addresses { get; }

    public static ConnectionSerialFeature Create(EndPoint? local, EndPoint? remote) =>
        new(Interlocked.Increment(ref s_next), ConnectionAddresses.From(local, remote));

    public int NextRequest() => Interlocked.Increment(ref _requests);
}
