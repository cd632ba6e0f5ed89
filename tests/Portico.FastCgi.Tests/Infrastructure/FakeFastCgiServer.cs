using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Portico.FastCgi.Client;
using Portico.FastCgi.Protocol;

namespace Portico.FastCgi.Tests.Infrastructure;

/// <summary>
/// A misbehaving FastCGI backend on 127.0.0.1:0 for the edge cases php-fpm cannot produce.
/// The handler runs once per accepted connection and decides what (garbage) to send.
/// </summary>
internal sealed class FakeFastCgiServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<FakeConnection, Task> _handler;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly Task _acceptLoop;
    private int _accepted;

    public FakeFastCgiServer(Func<FakeConnection, Task> handler)
    {
        _handler = handler;
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public FastCgiEndPoint EndPoint => FastCgiEndPoint.Tcp("127.0.0.1", ((IPEndPoint)_listener.LocalEndpoint).Port);

    public int AcceptedConnections => Volatile.Read(ref _accepted);

    /// <summary>Handler exceptions other than the peer going away; a test can assert there were none.</summary>
    public ConcurrentQueue<Exception> HandlerErrors { get; } = new();

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                Interlocked.Increment(ref _accepted);
                _connections.Add(Task.Run(async () =>
                {
                    await using var connection = new FakeConnection(socket, _stop.Token);
                    try
                    {
                        await _handler(connection);
                    }
                    catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or EndOfStreamException)
                    {
                    }
                    catch (Exception ex)
                    {
                        HandlerErrors.Enqueue(ex);
                    }
                }));
            }
        }
        catch (Exception ex) when (_stop.IsCancellationRequested && ex is OperationCanceledException or ObjectDisposedException or InvalidOperationException or SocketException)
        {
            // Stopped, possibly before the loop reached its first accept.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop;
        await Task.WhenAll(_connections).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }
}

/// <summary>The backend's side of one connection.</summary>
internal sealed class FakeConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly CancellationToken _stop;

    public FakeConnection(Socket socket, CancellationToken stop)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _stop = stop;
    }

    public CancellationToken Stopping => _stop;

    /// <summary>Reads one whole request (through the empty STDIN). Null when the client closed the connection
    /// between requests. Each PARAMS record is decoded on its own, as php-fpm does, so a split pair fails here.</summary>
    public async Task<FakeRequest?> ReadRequestAsync(bool stopAfterParams = false)
    {
        var request = new FakeRequest();
        var stdin = new MemoryStream();
        var header = new byte[8];
        var first = true;
        while (true)
        {
            var got = await _stream.ReadAtLeastAsync(header, 8, throwOnEndOfStream: false, _stop);
            if (got == 0 && first)
            {
                return null;
            }

            if (got < 8)
            {
                throw new EndOfStreamException("client closed mid-record");
            }

            first = false;
            var type = (FastCgiRecordType)header[1];
            var requestId = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2));
            var length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4));
            var padding = header[6];
            var content = new byte[length + padding];
            await _stream.ReadExactlyAsync(content, _stop);
            request.RecordCount++;
            request.RequestId = requestId;
            request.PaddingOk &= (8 + length + padding) % 8 == 0;
            switch (type)
            {
                case FastCgiRecordType.BeginRequest:
                    request.Role = BinaryPrimitives.ReadUInt16BigEndian(content);
                    request.KeepConnection = (content[2] & 1) != 0;
                    break;
                case FastCgiRecordType.Params when length == 0:
                    request.ParamsTerminated = true;
                    if (stopAfterParams)
                    {
                        return request;
                    }

                    break;
                case FastCgiRecordType.Params:
                    request.ParamsRecords++;
                    var seq = new System.Buffers.ReadOnlySequence<byte>(content, 0, length);
                    while (!seq.IsEmpty)
                    {
                        if (!NameValueCodec.TryRead(ref seq, out var name, out var value))
                        {
                            throw new InvalidOperationException("A name/value pair was split across PARAMS records.");
                        }

                        request.Params[Encoding.UTF8.GetString(name)] = Encoding.UTF8.GetString(value);
                    }

                    break;
                case FastCgiRecordType.Stdin when length == 0:
                    request.Stdin = stdin.ToArray();
                    return request;
                case FastCgiRecordType.Stdin:
                    request.StdinRecordSizes.Add(length);
                    stdin.Write(content, 0, length);
                    break;
                default:
                    break;
            }
        }
    }

    /// <summary>After <c>ReadRequestAsync(stopAfterParams: true)</c>: reads STDIN through its empty record.</summary>
    public async Task<long> DrainStdinAsync()
    {
        var header = new byte[8];
        long total = 0;
        while (true)
        {
            await _stream.ReadExactlyAsync(header, _stop);
            var length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4));
            var content = new byte[length + header[6]];
            await _stream.ReadExactlyAsync(content, _stop);
            if ((FastCgiRecordType)header[1] == FastCgiRecordType.Stdin)
            {
                if (length == 0)
                {
                    return total;
                }

                total += length;
            }
        }
    }

    public async Task SendAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes, _stop);
        await _stream.FlushAsync(_stop);
    }

    /// <summary>Sends one byte per write, so the client sees records split at every boundary.</summary>
    public async Task SendTrickleAsync(byte[] bytes, TimeSpan pause = default)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            await _stream.WriteAsync(bytes.AsMemory(i, 1), _stop);
            if (pause > TimeSpan.Zero)
            {
                // Long enough for the reader to take each byte in a receive of its own.
                await Task.Delay(pause, _stop);
            }
        }
    }

    /// <summary>Waits until the client closes its end (read returns 0) or the server stops.</summary>
    public async Task WaitForClientCloseAsync()
    {
        var buffer = new byte[1024];
        while (await _stream.ReadAsync(buffer, _stop) > 0)
        {
        }
    }

    /// <summary>Abortive close (RST), like a killed process.</summary>
    public void Reset()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    public ValueTask DisposeAsync() => _stream.DisposeAsync();
}

internal sealed class FakeRequest
{
    public int RequestId { get; set; }

    public int Role { get; set; }

    public bool KeepConnection { get; set; }

    public bool ParamsTerminated { get; set; }

    public int ParamsRecords { get; set; }

    public int RecordCount { get; set; }

    public bool PaddingOk { get; set; } = true;

    public Dictionary<string, string> Params { get; } = [];

    public List<int> StdinRecordSizes { get; } = [];

    public byte[] Stdin { get; set; } = [];
}
