using System.Runtime.InteropServices;

namespace Portico;

/// <summary>
/// A process started with stdin, stdout or stderr closed (<c>2&gt;&amp;-</c>, some service
/// managers) would hand those numbers to the next file it opens: the listening socket or a log
/// file would become "stderr" and receive stray writes. As daemons do, the missing ones are
/// pointed at /dev/null before anything else is opened.
/// </summary>
internal static partial class StandardStreams
{
    private const int ReadWrite = 2;

    public static void EnsureOpen()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        for (var fd = 0; fd <= 2; fd++)
        {
            var copy = Dup(fd);
            if (copy >= 0)
            {
                Close(copy);
                continue;
            }

            var devNull = Open("/dev/null", ReadWrite);
            if (devNull >= 0 && devNull != fd)
            {
                Dup2(devNull, fd);
                Close(devNull);
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "dup")]
    private static partial int Dup(int fd);

    [LibraryImport("libc", EntryPoint = "dup2")]
    private static partial int Dup2(int oldFd, int newFd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);
}
