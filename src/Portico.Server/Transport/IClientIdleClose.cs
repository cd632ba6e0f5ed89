namespace Portico.Server.Transport;

/// <summary>
/// What a connection of Portico's loops offers for nginx's <c>keepalive_timeout</c> of a location or server whose
/// timeout is shorter than Kestrel's (Kestrel has one for all connections): a count that moves whenever bytes arrive,
/// and a close. Kestrel's socket transport has none (there Kestrel's one timeout applies).
/// </summary>
internal interface IClientIdleClose
{
    /// <summary>Moves on each receive that brought bytes.</summary>
    long ReceiveCount { get; }

    /// <summary>Closes the connection, idle between requests, without a response (nginx sends nothing either).</summary>
    void CloseIdle();
}
