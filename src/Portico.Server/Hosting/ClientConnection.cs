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
    private readonly Transport.IClientIdleClose? _idleClose;
    private readonly TimeSpan _transportIdleTimeout;
    private readonly Lock _idleLock = new();
    private Timer? _idleTimer;
    private TimeSpan _idleTimeout;
    private long _idleDeadline; // LoopClock timestamp; 0 when no wait is armed
    private int _idleSinceRequest;
    private long _idleSinceReceive;

    private ClientConnection(long serial, ConnectionAddresses addresses, int worker, Transport.IClientHalfClose? halfClose, Transport.IClientSendTimeout? sendTimeout, Transport.IClientIdleClose? idleClose, TimeSpan transportIdleTimeout)
    {
        Serial = serial;
        Addresses = addresses;
        Worker = worker;
        HalfClose = halfClose;
        _sendTimeout = sendTimeout;
        _idleClose = idleClose;
        _transportIdleTimeout = transportIdleTimeout;
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

    /// <summary>A connection's state; <paramref name="transportIdleTimeout"/> is Kestrel's keep-alive timeout, which a
    /// shorter <c>keepalive_timeout</c> is enforced under (<see cref="CloseWhenIdleFor"/>).
    /// <paramref name="firstRequestTimeout"/> is the wait for the connection's first request, the http level's
    /// <c>keepalive_timeout</c>, armed only when it is shorter than Kestrel's (so a config with one timeout for all
    /// makes no timer per connection).</summary>
    public static ClientConnection Create(EndPoint? local, EndPoint? remote, int worker = -1, Transport.IClientHalfClose? halfClose = null, Transport.IClientSendTimeout? sendTimeout = null, Transport.IClientIdleClose? idleClose = null, TimeSpan transportIdleTimeout = default, TimeSpan firstRequestTimeout = default)
    {
        var connection = new ClientConnection(Interlocked.Increment(ref s_next), ConnectionAddresses.From(local, remote), worker, halfClose, sendTimeout, idleClose, transportIdleTimeout);
        connection.CloseWhenIdleFor(firstRequestTimeout);
        return connection;
    }

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

    /// <summary>Kestrel's keep-alive timeout, under which <see cref="CloseWhenIdleFor"/> enforces a shorter one;
    /// MaxValue on Kestrel's socket transport (nothing shorter can be enforced there).</summary>
    public TimeSpan IdleLimit => _idleClose is null ? TimeSpan.MaxValue : _transportIdleTimeout;

    /// <summary>
    /// A request ended on a connection that is kept, under <paramref name="timeout"/>, the <c>keepalive_timeout</c> of
    /// the location that answered it (ngx_http_set_keepalive reads it from the request's location). Kestrel closes a
    /// connection idle for its own timeout, the config's longest; a shorter one is this timer's: when it passes with
    /// no request begun since, the connection is closed. Bytes that begin no request (a body Kestrel drains, stray
    /// CRLFs, a request head still coming) start the wait over. Nothing on Kestrel's socket transport. Also armed at
    /// the connection's start, for its first request (see <see cref="Create"/>).
    /// </summary>
    public void CloseWhenIdleFor(TimeSpan timeout)
    {
        if (_idleClose is not { } connection || timeout >= _transportIdleTimeout || timeout <= TimeSpan.Zero)
        {
            return;
        }

        // Off the hot path (only where timeouts differ), so a lock keeps the timer thread and the loop in step.
        lock (_idleLock)
        {
            _idleTimeout = timeout;
            _idleSinceRequest = Volatile.Read(ref _requests);
            _idleSinceReceive = connection.ReceiveCount;
            _idleDeadline = Transport.LoopClock.GetTimestamp() + (long)(timeout.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
            var timer = _idleTimer ??= new Timer(static state => ((ClientConnection)state!).IdleTimerFired(), this, Timeout.Infinite, Timeout.Infinite);
            timer.Change(timeout, Timeout.InfiniteTimeSpan);
        }
    }

    private void IdleTimerFired()
    {
        lock (_idleLock)
        {
            if (_idleDeadline == 0)
            {
                return;
            }

            var now = Transport.LoopClock.GetTimestamp();
            if (Volatile.Read(ref _requests) != _idleSinceRequest)
            {
                _idleDeadline = 0; // a request began; its end arms the wait again
                return;
            }

            var received = _idleClose!.ReceiveCount;
            if (now < _idleDeadline || received != _idleSinceReceive)
            {
                // Re-armed since (this firing was the previous wait's), or bytes came that began no request: wait on.
                var rest = received != _idleSinceReceive ? _idleTimeout : TimeSpan.FromSeconds((double)(_idleDeadline - now) / System.Diagnostics.Stopwatch.Frequency);
                if (received != _idleSinceReceive)
                {
                    _idleSinceReceive = received;
                    _idleDeadline = now + (long)(rest.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
                }

                _idleTimer!.Change(rest, Timeout.InfiniteTimeSpan);
                return;
            }

            _idleDeadline = 0;
        }

        try
        {
            _idleClose.CloseIdle();
        }
        catch (ObjectDisposedException)
        {
            // The connection ended meanwhile; a timer callback must never throw (it would end the process).
        }
    }

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
