using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Portico.EndToEnd.Tests.FastCgi;

/// <summary>
/// A FastCGI "server" that misbehaves on purpose, for what php-fpm cannot be made to do: send garbage,
/// never answer, write to stderr in a controlled way, or die in the middle of the body.
/// </summary>
public sealed class FakeFastCgiBackend : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Func<NetworkStream, CancellationToken, Task> _behaviour;

    public FakeFastCgiBackend(Func<NetworkStream, CancellationToken, Task> behaviour)
    {
        _behaviour = behaviour;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _loop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Connections;

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            Interlocked.Increment(ref Connections);
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try
                    {
                        var stream = client.GetStream();
                        await ReadRequestAsync(stream, _stop.Token);
                        await _behaviour(stream, _stop.Token);
                    }
                    catch (Exception)
                    {
                        // A misbehaving backend does not care.
                    }
                }
            });
        }
    }

    /// <summary>Reads until the empty FCGI_STDIN record that ends a request.</summary>
    private static async Task ReadRequestAsync(NetworkStream stream, CancellationToken token)
    {
        var seen = new List<byte>();
        var buffer = new byte[8192];
        byte[] endOfStdin = [1, 5, 0, 1, 0, 0, 0, 0];
        while (true)
        {
            var read = await stream.ReadAsync(buffer, token);
            if (read == 0)
            {
                return;
            }

            seen.AddRange(buffer.AsSpan(0, read));
            if (seen.Count >= 8 && IndexOf(seen, endOfStdin) >= 0)
            {
                return;
            }
        }
    }

    private static int IndexOf(List<byte> haystack, byte[] needle)
    {
        for (var i = 0; i <= haystack.Count - needle.Length; i++)
        {
            var match = true;
            for (var j = 0; j < needle.Length && match; j++)
            {
                match = haystack[i + j] == needle[j];
            }

            if (match)
            {
                return i;
            }
        }

        return -1;
    }

    public static byte[] Record(byte type, string content) => Record(type, Encoding.Latin1.GetBytes(content));

    public static byte[] Record(byte type, byte[] content)
    {
        var record = new byte[8 + content.Length];
        record[0] = 1;
        record[1] = type;
        record[2] = 0;
        record[3] = 1;
        record[4] = (byte)(content.Length >> 8);
        record[5] = (byte)content.Length;
        content.CopyTo(record, 8);
        return record;
    }

    public static byte[] EndRequest() => Record(3, new byte[8]);

    public const byte Stdout = 6;

    public const byte Stderr = 7;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop;
        _stop.Dispose();
    }
}
