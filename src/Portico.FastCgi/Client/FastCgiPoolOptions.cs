namespace Portico.FastCgi.Client;

/// <summary>Limits of a per-endpoint pool of kept-alive connections (nginx upstream "keepalive" block).</summary>
public sealed class FastCgiPoolOptions
{
    /// <summary>Most idle connections kept. Each idle php-fpm connection pins a worker, so this is a hard cap
    /// (nginx "keepalive N"). 0 disables reuse.</summary>
    public int MaxIdleConnections { get; set; } = 8;

    /// <summary>An idle connection older than this is closed (nginx keepalive_timeout, default 60s).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>A connection is closed after this many requests (nginx keepalive_requests, default 1000).</summary>
    public int MaxRequestsPerConnection { get; set; } = 1000;

    /// <summary>A new connection without an answer for this long is taken as queued behind workers pinned by
    /// kept-alive connections; the pool's idle connections are then closed to free workers.</summary>
    public TimeSpan StarvationThreshold { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest a request waits for a connection another request is handing back, instead of opening one,
    /// while <see cref="MaxIdleConnections"/> connections are open already (one more could not be kept: it would be
    /// closed at its return) and connections come back faster than this. Zero connects at once, always (nginx's way).
    /// While connections keep coming back, late waiters are checked every four of these (a waiter queued as the
    /// returns stop may wait that long).</summary>
    public TimeSpan HandOffWait { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// Runs a request that waited for a handed-back connection (its continuation and its state). Null runs it inline,
    /// inside the returning request's dispose. An event-loop host can post it to run after the returning request has
    /// finished its response, so that response leaves before the waiter's request wakes the backend.
    /// </summary>
    public Action<Action<object?>, object?>? HandOffDispatcher { get; set; }

    /// <summary>Connect timeout (nginx fastcgi_connect_timeout, default 60s).</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Clock for idle expiry and connect timeout; inject a fake one in tests.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Opens the sockets: .NET's by default, the event loop's in the Portico server.</summary>
    internal FastCgiConnector Connector { get; set; } = FastCgiConnector.Sockets;
}
