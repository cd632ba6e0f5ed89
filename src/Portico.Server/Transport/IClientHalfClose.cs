namespace Portico.Server.Transport;

/// <summary>
/// The client's FIN as nginx reads it: the end of the request stream, not of the connection. A response in
/// progress still goes out (a static file to <c>printf 'GET / HTTP/1.0\r\n\r\n' | nc -N</c>); only a request
/// passed upstream is cut short, with a 499, unless its location has <c>fastcgi_ignore_client_abort on</c>
/// (ngx_http_upstream_check_broken_connection). Kestrel's socket transport has no such thing: there a FIN closes
/// the connection and aborts every request.
/// </summary>
internal interface IClientHalfClose
{
    /// <summary>True once the client's FIN came.</summary>
    bool InputEnded { get; }

    /// <summary>While on, the client's FIN cancels <see cref="Closed"/> (at once if it already came).</summary>
    void CancelOnInputEnd(bool on);

    /// <summary>
    /// Cancelled by a FIN while <see cref="CancelOnInputEnd"/> is on, inline (on the loop, before it reads any other
    /// descriptor); later, with Kestrel's RequestAborted, for any other close. An upstream request watches this
    /// rather than RequestAborted, which Kestrel cancels from the thread pool. The FIN does not abort the
    /// connection itself: the request does, when the cancellation reaches it (499). A request that finished its
    /// upstream part first still sends its response, so what the client gets and what the log says agree even
    /// when the request runs on another thread than the loop.
    /// </summary>
    CancellationToken Closed { get; }
}
