namespace Portico.FastCgi.Protocol;

/// <summary>protocolStatus of FCGI_END_REQUEST, spec section 5.5.</summary>
public enum FastCgiProtocolStatus : byte
{
    /// <summary>Normal end of request.</summary>
    RequestComplete = 0,

    /// <summary>The application refused a second concurrent request on one connection.</summary>
    CantMpxConn = 1,

    /// <summary>The application ran out of a resource (e.g. a full listen queue).</summary>
    Overloaded = 2,

    /// <summary>The application does not implement the requested role.</summary>
    UnknownRole = 3,
}
