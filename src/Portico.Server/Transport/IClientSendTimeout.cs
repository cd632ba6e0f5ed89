namespace Portico.Server.Transport;

/// <summary>
/// nginx's send_timeout on a connection of Portico's loops: how long a response waiting for room in the socket may
/// wait for the client to take something before the connection is closed. A request sets it from its location.
/// Kestrel's socket transport has none (there Kestrel's minimum response data rate applies).
/// </summary>
internal interface IClientSendTimeout
{
    TimeSpan SendTimeout { get; set; }

    /// <summary>True once the connection was closed because the client took nothing for <see cref="SendTimeout"/>.</summary>
    bool SendTimedOut { get; }
}
