namespace Portico.FastCgi;

/// <summary>What went wrong, so a server can choose 502 (bad gateway) or 504 (gateway timeout).</summary>
public enum FastCgiErrorKind
{
    /// <summary>The TCP or unix socket connect was refused or failed (502).</summary>
    ConnectFailed,

    /// <summary>The connect did not finish within the connect timeout (504).</summary>
    ConnectTimeout,

    /// <summary>Writing the request stalled longer than the send timeout (504).</summary>
    SendTimeout,

    /// <summary>Two successive reads from the backend were further apart than the read timeout (504).</summary>
    ReadTimeout,

    /// <summary>The backend broke the FastCGI record protocol (502).</summary>
    ProtocolError,

    /// <summary>The backend closed the connection before FCGI_END_REQUEST (502).</summary>
    BackendClosed,

    /// <summary>The CGI response header block exceeded the configured cap (502).</summary>
    HeaderTooLarge,

    /// <summary>A CGI response header line or the Status value was malformed (502).</summary>
    InvalidResponseHeader,

    /// <summary>FCGI_END_REQUEST carried CANT_MPX_CONN, OVERLOADED or UNKNOWN_ROLE (502).</summary>
    RequestRejected,

    /// <summary>A single name/value pair does not fit one FCGI_PARAMS record (caller error, before any I/O).</summary>
    ParamTooLarge,

    /// <summary>The backend's FCGI_STDERR carried a string of <see cref="Client.FastCgiClientOptions.CatchStderr"/>: the
    /// response counts as invalid (502; nginx fastcgi_catch_stderr).</summary>
    StderrCaught,
}
