namespace Portico.Server.Transport;

/// <summary>
/// Where an event-loop handler's unexpected exception goes: the running config's error log at <c>alert</c> (the
/// host sets <see cref="Sink"/>), stderr before there is one. The loop itself carries on; such an exception is a
/// bug in the handler.
/// </summary>
internal static class LoopFailures
{
    /// <summary>Writes one error-log line; set by the host once its logs are open.</summary>
    public static Action<string>? Sink { get; set; }

    public static void Report(Exception exception)
    {
        var message = $"event loop handler failed: {exception}";
        try
        {
            if (Sink is { } sink)
            {
                sink(message);
            }
            else
            {
                Console.Error.WriteLine("portico: [alert] " + message);
            }
        }
        catch (Exception)
        {
            // Reporting must never take the loop down (a log closed at shutdown, a full disk).
        }
    }
}
