using System.Net;
using System.Net.Sockets;

namespace Portico.Testing;

/// <summary>
/// A free loopback TCP port for a server a test starts (portico, nginx, php-fpm, a fake backend), or for a port
/// nothing must listen on.
/// </summary>
/// <remarks>
/// The port was once the kernel's pick for a bind to port 0, released at once. Two things could then take it
/// before the server bound it: another test asking at the same moment (the kernel may hand a released port out
/// again), and any outgoing connection (a test client, a server's connection to php-fpm), whose local port
/// comes from the same ephemeral range. A server that lost its port exited, and the test talked to whoever had
/// it: a php-fpm answering an HTTP request by closing the connection looked like a portico bug. So ports come from
/// below the ephemeral range (Linux: 32768-60999), each at most once per test process, from a start of its own
/// per process (the test projects run in parallel), and only after a bind shows the port free.
/// </remarks>
public static class FreePort
{
    private const int First = 20000;
    private const int Last = 32000;

    private static int s_next = First + (Environment.ProcessId * 997 % (Last - First));

    public static int Next()
    {
        for (var attempt = 0; attempt < Last - First; attempt++)
        {
            var port = First + ((Interlocked.Increment(ref s_next) - First) % (Last - First));
            if (IsFree(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"no free port between {First} and {Last}");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
