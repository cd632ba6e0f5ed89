using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Portico.Server.Transport;

/// <summary>errno values as the <see cref="SocketException"/>s the rest of Portico (and Kestrel) expect.</summary>
internal static class SocketErrors
{
    public static SocketException Exception(int errno) => new ErrnoSocketException(errno, ToSocketError(errno));

    // strerror(3) texts, looked up once per errno: a backend that is down refuses every request's connect.
    private static readonly string?[] s_messages = new string?[256];

    /// <summary>strerror(<paramref name="errno"/>), as nginx prints it ("Connection refused").</summary>
    public static string Message(int errno)
    {
        if ((uint)errno >= (uint)s_messages.Length)
        {
            return Marshal.GetPInvokeErrorMessage(errno);
        }

        return s_messages[errno] ??= Marshal.GetPInvokeErrorMessage(errno);
    }

    public static SocketError ToSocketError(int errno) => errno switch
    {
        LinuxSockets.EAGAIN => SocketError.WouldBlock,
        LinuxSockets.EINTR => SocketError.Interrupted,
        LinuxSockets.EINPROGRESS => SocketError.InProgress,
        2 => SocketError.AddressNotAvailable, // ENOENT: a Unix socket path that does not exist
        9 => SocketError.OperationAborted, // EBADF: closed under us
        13 => SocketError.AccessDenied,
        22 => SocketError.InvalidArgument,
        23 or 24 => SocketError.TooManyOpenSockets,
        32 => SocketError.Shutdown, // EPIPE
        98 => SocketError.AddressAlreadyInUse,
        99 => SocketError.AddressNotAvailable,
        100 => SocketError.NetworkDown,
        101 => SocketError.NetworkUnreachable,
        103 => SocketError.ConnectionAborted,
        104 => SocketError.ConnectionReset,
        105 or 12 => SocketError.NoBufferSpaceAvailable,
        107 => SocketError.NotConnected,
        110 => SocketError.TimedOut,
        111 => SocketError.ConnectionRefused,
        113 => SocketError.HostUnreachable,
        _ => SocketError.SocketError,
    };
}

/// <summary>A <see cref="SocketException"/> that keeps the errno and strerror text it came from: the error log
/// prints them as nginx does ("connect() failed (111: Connection refused)"), and not every errno has a
/// <see cref="SocketError"/> of its own (ENOENT from a Unix socket path).</summary>
internal sealed class ErrnoSocketException(int errno, SocketError error) : SocketException((int)error, SocketErrors.Message(errno))
{
    public int Errno { get; } = errno;
}
