namespace Portico.Server.Transport;

/// <summary>Where an event-loop handler's unexpected exception goes: stderr, which the binary sends to the
/// error log's file. The loop itself carries on; such an exception is a bug in the handler.</summary>
internal static class LoopFailures
{
    public static void Report(Exception exception)
    {
        try
        {
            Console.Error.WriteLine($"portico: [alert] event loop handler failed: {exception}");
        }
        catch (IOException)
        {
        }
    }
}
