namespace Portico;

/// <summary>
/// stderr/stdout writes that never throw: Portico must keep working when its stderr is
/// closed (a daemon started with 2&gt;&amp;-), so a failed console write is dropped.
/// </summary>
internal static class SafeConsole
{
    public static void Error(string line)
    {
        try
        {
            Console.Error.WriteLine(line);
            Console.Error.Flush();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
            // .NET maps EBADF (a closed descriptor) to UnauthorizedAccessException.
        }
    }

    public static void Out(string text)
    {
        try
        {
            Console.Out.Write(text);
            Console.Out.Flush();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
            // .NET maps EBADF (a closed descriptor) to UnauthorizedAccessException.
        }
    }
}
