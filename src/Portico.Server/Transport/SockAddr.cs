using System.Buffers.Binary;
using System.Net;
using static Portico.Server.Transport.LinuxSockets;

namespace Portico.Server.Transport;

/// <summary>Reads the struct sockaddr the kernel fills in (accept4, getsockname) as an <see cref="EndPoint"/>.</summary>
internal static unsafe class SockAddr
{
    /// <summary>Big enough for sockaddr_in6 and sockaddr_un.</summary>
    public const int MaxLength = 112;

    /// <summary>An IP end point, or null for a Unix socket peer (which has no address; nginx prints "unix:").</summary>
    public static EndPoint? ToEndPoint(byte* address, int length)
    {
        if (length < 2)
        {
            return null;
        }

        var family = *(ushort*)address;
        var span = new ReadOnlySpan<byte>(address, length);
        switch (family)
        {
            case AF_INET when length >= 16:
                return new IPEndPoint(new IPAddress(span.Slice(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(span[2..]));
            case AF_INET6 when length >= 28:
                var scope = BinaryPrimitives.ReadUInt32LittleEndian(span[24..]);
                return new IPEndPoint(new IPAddress(span.Slice(8, 16), scope), BinaryPrimitives.ReadUInt16BigEndian(span[2..]));
            default:
                return null;
        }
    }

    /// <summary>getsockname(2) as an end point (null for Unix sockets or on failure).</summary>
    public static EndPoint? Local(int fd)
    {
        var buffer = stackalloc byte[MaxLength];
        var length = MaxLength;
        return GetSockName(fd, buffer, &length) == 0 ? ToEndPoint(buffer, length) : null;
    }
}
