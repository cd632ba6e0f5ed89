namespace Portico.FastCgi.Protocol;

/// <summary>FCGI_EndRequestBody, spec section 5.5.</summary>
public readonly record struct EndRequest(int AppStatus, FastCgiProtocolStatus ProtocolStatus);
