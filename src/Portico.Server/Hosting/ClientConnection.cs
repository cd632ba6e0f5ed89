using System.Net;
using Portico.Server.Phases;
using Portico.Server.Routing;

namespace Portico.Server.Hosting;

/// <summary>
/// What Portico keeps per accepted connection, as a connection feature: nginx's connection serial number
/// (<c>$connection</c>) and request counter (<c>$connection_requests</c>), the connection's addresses, and a memo
/// of what its requests would otherwise work out again each time: the server table of the socket it came in on
/// (per config snapshot) and the normal form of its Host header (per header string: Kestrel hands out the same
/// string while a header's bytes repeat). Only HTTP/1.1 is served, so a connection's requests run one at a time
/// and the memo needs no lock; Interlocked keeps the request counter honest should a multiplexed protocol come.
/// </summary>
internal sealed class ClientConnection
{
    private static long s_next;
    private int _requests;
    private VirtualServerTable? _tableFor;
    private ServerNameTable? _table;
    private string? _hostHeader;
    private string _host = "";
    private bool _hostValid;

    private readonly Transport.IClientSendTimeout? _sendTimeout;

    private ClientConnection(long serial, ConnectionAddresses addresses, int worker, Transport.IClientHalfClose? halfClose, Transport.IClientSendTimeout? sendTimeout)
    {
        Serial = serial;
        Addresses = addresses;
        Worker = worker;
        HalfClose = halfClose;
        _sendTimeout = sendTimeout;
    }

    public long Serial { get; }

    /// <summary>When the connection was accepted (Stopwatch ticks), for <c>keepalive_time</c>.</summary>
    public long OpenedTimestamp { get; } = Transport.LoopClock.GetTimestamp();

    /// <summary>The connection's ends, with their text formatted once for all its requests.</summary>
    public ConnectionAddresses Addresses { get; }

    /// <summary>The event loop (worker) that owns the connection, or -1 on Kestrel's socket transport.</summary>
    public int Worker { get; }

    /// <summary>The client's FIN, as nginx reads it; null on Kestrel's socket transport (there a FIN aborts).</summary>
    public Transport.IClientHalfClose? HalfClose { get; }

    public static ClientConnection Create(EndPoint? local, EndPoint? remote, int worker = -1, Transport.IClientHalfClose? halfClose = null, Transport.IClientSendTimeout? sendTimeout = null) =>
        new(Interlocked.Increment(ref s_next), ConnectionAddresses.From(local, remote), worker, halfClose, sendTimeout);

    /// <summary>True once send_timeout closed the connection (a response the client stopped taking).</summary>
    public bool SendTimedOut => _sendTimeout?.SendTimedOut == true;

    /// <summary>send_timeout of the location now answering (nginx reads it from the request's location); nothing on
    /// Kestrel's socket transport.</summary>
    public void UseSendTimeout(TimeSpan timeout)
    {
        if (_sendTimeout is { } connection && connection.SendTimeout != timeout)
        {
            connection.SendTimeout = timeout;
        }
    }

    public int NextRequest() => Interlocked.Increment(ref _requests);

    /// <summary>The names served on this connection's listen socket under <paramref name="servers"/> (a snapshot's).</summary>
    public ServerNameTable? ServerNames(VirtualServerTable servers)
    {
        if (!ReferenceEquals(_tableFor, servers))
        {
            _table = servers.FindEndpoint(Addresses.LocalAddress, Addresses.LocalPort);
            _tableFor = servers;
        }

        return _table;
    }

    /// <summary><see cref="HostNormalizer.TryNormalize"/>, worked out again only when the header string changes.</summary>
    public bool TryNormalizeHost(string raw, out string host)
    {
        if (!ReferenceEquals(raw, _hostHeader))
        {
            _hostValid = HostNormalizer.TryNormalize(raw, out _host);
            _hostHeader = raw;
        }

        host = _host;
        return _hostValid;
    }
}
