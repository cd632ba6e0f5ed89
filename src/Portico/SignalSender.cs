using System.Globalization;
using System.Runtime.InteropServices;

namespace Portico;

/// <summary><c>-s stop|quit|reopen|reload</c>: read the pid file and signal that process, as nginx does.</summary>
internal static partial class SignalSender
{
    // Linux signal numbers.
    public const int SigHup = 1;
    public const int SigQuit = 3;
    public const int SigUsr1 = 10;
    public const int SigTerm = 15;

    public static int SignalNumber(string name) => name switch
    {
        "stop" => SigTerm,
        "quit" => SigQuit,
        "reopen" => SigUsr1,
        "reload" => SigHup,
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    /// <summary>Returns null on success, else nginx's error text.</summary>
    public static string? Send(string pidFile, string signal)
    {
        string text;
        try
        {
            text = File.ReadAllText(pidFile);
        }
        catch (FileNotFoundException)
        {
            return $"open() \"{pidFile}\" failed (2: No such file or directory)";
        }
        catch (DirectoryNotFoundException)
        {
            return $"open() \"{pidFile}\" failed (2: No such file or directory)";
        }
        catch (UnauthorizedAccessException)
        {
            return $"open() \"{pidFile}\" failed (13: Permission denied)";
        }

        var trimmed = text.Trim();
        if (!int.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 0)
        {
            return $"invalid PID number \"{trimmed}\" in \"{pidFile}\"";
        }

        if (Kill(pid, SignalNumber(signal)) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            var reason = errno == 3 ? "3: No such process" : errno == 1 ? "1: Operation not permitted" : errno.ToString(CultureInfo.InvariantCulture);
            return $"kill({pid}, {SignalNumber(signal)}) failed ({reason})";
        }

        return null;
    }

    /// <summary>
    /// A shell starts background jobs ("portico &amp;" in a script) with SIGINT and SIGQUIT ignored,
    /// and .NET then never installs its handler for them ("we respect ignored signals"), so
    /// <c>-s quit</c> would do nothing. nginx sets its handlers regardless; resetting both to the
    /// default before .NET initialises its signal handling (the first Console or
    /// PosixSignalRegistration use) gives the same result. Must be the first thing Main does.
    /// </summary>
    public static void ResetIgnoredStopSignals()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            _ = SetDefault(SigQuit, 0 /* SIG_DFL */);
            _ = SetDefault(2 /* SIGINT */, 0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint SetDefault(int signal, nint handler);
}
