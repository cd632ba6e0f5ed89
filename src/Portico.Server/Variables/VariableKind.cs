namespace Portico.Server.Variables;

/// <summary>
/// Every variable a config string can name. A compiled value stores the kind (and, for the
/// families, the argument), so evaluating is one switch, never a name lookup per request.
/// https://nginx.org/en/docs/http/ngx_http_core_module.html#variables
/// </summary>
internal enum VariableKind : byte
{
    // Numeric or fixed-alphabet values: always printable ASCII, never need escaping.
    Status,
    BodyBytesSent,
    BytesSent,
    RequestLength,
    RequestTime,
    Msec,
    TimeLocal,
    TimeIso8601,
    Connection,
    ConnectionRequests,
    Pid,
    RemotePort,
    ServerPort,
    RemoteAddr,
    ServerAddr,

    // Text values.
    GzipRatio,
    RemoteUser,
    Request,
    RequestMethod,
    RequestUri,
    Uri,
    Args,
    IsArgs,
    Host,
    Hostname,
    ServerName,
    Scheme,
    Https,
    ServerProtocol,
    DocumentRoot,
    RequestFilename,
    ContentType,
    ContentLength,
    NginxVersion,
    RequestId,

    // Families: the argument is the header / argument / cookie name, the capture number or the variable name.
    HttpHeader,
    SentHttpHeader,
    Arg,
    Cookie,
    Capture,
    Declared,

    /// <summary>A name given to <c>set</c>: its value, or empty before any <c>set</c> of it ran.</summary>
    SetVariable,
}
