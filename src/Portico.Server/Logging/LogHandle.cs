using System.Runtime.InteropServices;
using System.Text;

namespace Portico.Server.Logging;

/// <summary>
/// An open log destination. On Linux a raw descriptor opened with
/// <c>O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC</c> and mode 0644, as nginx opens logs
/// (ngx_open_file(..., NGX_FILE_APPEND, NGX_FILE_CREATE_OR_OPEN, NGX_FILE_DEFAULT_ACCESS)):
/// O_APPEND keeps every write() at the end even after logrotate's copytruncate or with a second
/// process appending. Elsewhere a FileStream in append mode.
/// </summary>
internal sealed partial class LogHandle : IDisposable
{
    private const int ENOENT = 2;
    private const int EINTR = 4;
    private const int O_WRONLY = 0x1;
    private const int O_CREAT = 0x40;
    private const int O_APPEND = 0x400;
    private const int O_CLOEXEC = 0x80000;
    private const int SeekCurrent = 1;

    private static bool s_nativeBroken = !OperatingSystem.IsLinux();

    private int _fd;
    private readonly bool _owns;
    private readonly Stream? _stream;

    private LogHandle(int fd, bool owns, Stream? stream)
    {
        _fd = fd;
        _owns = owns;
        _stream = stream;

        // A pipe, FIFO, socket or terminal cannot seek (ESPIPE); a regular file can, and a write to it never waits for a
        // reader. /dev/null seeks too, and never waits either.
        IsSeekable = owns && (stream?.CanSeek ?? (fd >= 0 && LSeek(fd, 0, SeekCurrent) >= 0));
    }

    /// <summary>An opened path that can seek (a regular file): a write to it never waits for a reader, so a request's
    /// thread may write a line itself (see <see cref="LogFile"/>).</summary>
    public bool IsSeekable { get; }

    public static LogHandle StandardOutput { get; } = Std(1);

    /// <summary>Wraps an existing descriptor (tests: a closed stderr).</summary>
    internal static LogHandle FromDescriptor(int fd, bool owns) => new(fd, owns, null);

    /// <summary>True for stdout/stderr handles, whose write failures are ignored silently.</summary>
    public bool IsStandard => !_owns;

    public static LogHandle StandardError { get; } = Std(2);

    private static LogHandle Std(int fd) => s_nativeBroken
        ? new LogHandle(-1, false, fd == 1 ? Console.OpenStandardOutput() : Console.OpenStandardError())
        : new LogHandle(fd, false, null);

    /// <summary>Opens <paramref name="path"/> for appending; on failure returns null with nginx's error text.</summary>
    public static LogHandle? TryOpen(string path, out string? error)
    {
        if (path == "stdout")
        {
            error = null;
            return StandardOutput;
        }

        if (path == "stderr")
        {
            error = null;
            return StandardError;
        }

        if (!s_nativeBroken)
        {
            try
            {
                var bytes = new byte[Encoding.UTF8.GetByteCount(path) + 1];
                Encoding.UTF8.GetBytes(path, bytes);
                var fd = Open(ref bytes[0], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 420 /* 0644 */);
                if (fd < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    error = $"open() \"{path}\" failed ({errno}: {Marshal.GetPInvokeErrorMessage(errno)})";
                    return null;
                }

                error = null;
                return new LogHandle(fd, true, null);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                s_nativeBroken = true;
            }
        }

        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.Append,
                Access = FileAccess.Write,
                Share = FileShare.ReadWrite | FileShare.Delete,
                BufferSize = 0,
            };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            }

            var stream = new FileStream(path, options);
            error = null;
            return new LogHandle(-1, true, stream);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var (code, text) = e switch
            {
                UnauthorizedAccessException => (13, "Permission denied"),
                DirectoryNotFoundException or FileNotFoundException => (ENOENT, "No such file or directory"),
                _ => (e.HResult & 0xffff, e.Message),
            };
            error = $"open() \"{path}\" failed ({code}: {text})";
            return null;
        }
    }

    /// <summary>
    /// Writes all of <paramref name="data"/> with as few write() calls as the kernel allows.
    /// Returns null, or the error text. A closed stdout/stderr (EBADF, EPIPE) is reported like any
    /// other failure; the caller decides to ignore it.
    /// </summary>
    public string? Write(ReadOnlySpan<byte> data)
    {
        if (_stream is not null)
        {
            try
            {
                _stream.Write(data);
                _stream.Flush();
                return null;
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException or UnauthorizedAccessException)
            {
                return e.Message;
            }
        }

        var fd = _fd;
        if (fd < 0)
        {
            return "closed";
        }

        while (data.Length > 0)
        {
            var n = (long)WriteNative(fd, ref MemoryMarshal.GetReference(data), (nint)data.Length);
            if (n < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == EINTR)
                {
                    continue;
                }

                return $"({errno}: {Marshal.GetPInvokeErrorMessage(errno)})";
            }

            data = data[(int)n..];
        }

        return null;
    }

    public void Dispose()
    {
        if (!_owns)
        {
            return;
        }

        if (_stream is not null)
        {
            _stream.Dispose();
            return;
        }

        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            Close(fd);
        }
    }

    [DllImport("libc.so.6", EntryPoint = "open", SetLastError = true)]
    private static extern int Open(ref byte path, int flags, int mode);

    [DllImport("libc.so.6", EntryPoint = "write", SetLastError = true)]
    private static extern nint WriteNative(int fd, ref byte buffer, nint count);

    [DllImport("libc.so.6", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);

    [DllImport("libc.so.6", EntryPoint = "lseek", SetLastError = true)]
    private static extern long LSeek(int fd, long offset, int whence);
}
