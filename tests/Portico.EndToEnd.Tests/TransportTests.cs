using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Portico.EndToEnd.Tests;

/// <summary>
/// The client side of the event loop (Portico.Server's Transport): bytes that come in pieces or all at once, a
/// client slower than the file it downloads, one that resets mid-download, and many at once over two workers.
/// Each runs on Portico's own loops and on Kestrel's socket transport (PORTICO_TRANSPORT=sockets), which must
/// behave alike.
/// </summary>
public sealed class TransportTests : IDisposable
{
    private const int LargeSize = 6 * 1024 * 1024;
    private readonly TempDir _dir = new();
    private readonly byte[] _large;

    public TransportTests()
    {
        _large = new byte[LargeSize];
        new Random(11).NextBytes(_large);
        Directory.CreateDirectory(Path.Combine(_dir.Path, "www"));
        File.WriteAllBytes(Path.Combine(_dir.Path, "www", "large.bin"), _large);
        _dir.Write("www/small.txt", "small\n");
    }

    /// <summary>Portico's own loops (no setting) and Kestrel's socket transport.</summary>
    public static TheoryData<string> Transports => new() { "", "sockets" };

    public void Dispose() => _dir.Dispose();

    private static async Task<TcpClient> ConnectAsync(int port, CancellationToken token)
    {
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, port, token);
        return client;
    }

    private async Task<(PorticoProcess Portico, int Port)> StartAsync(string transport, string workers = "1")
    {
        var port = FreePort.Next();
        var conf = _dir.Write("site.conf", $$"""
            worker_processes {{workers}};
            error_log {{_dir.Path}}/error.log info;
            http {
                access_log off;
                server { listen 127.0.0.1:{{port}}; root {{_dir.Path}}/www; }
            }
            """);
        var environment = new Dictionary<string, string>();
        if (transport.Length > 0)
        {
            environment["PORTICO_TRANSPORT"] = transport;
        }

        var portico = PorticoProcess.Start(_dir.Path, environment, "-p", _dir.Path + "/", "-c", conf);
        await portico.WaitForPortAsync(port);
        return (portico, port);
    }

    private string ErrorLog => File.Exists(Path.Combine(_dir.Path, "error.log")) ? File.ReadAllText(Path.Combine(_dir.Path, "error.log")) : "";

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_request_that_arrives_byte_by_byte_is_served(string transport)
    {
        var (portico, port) = await StartAsync(transport);
        await using (portico)
        {
            using var cts = new CancellationTokenSource(RawHttp.Timeout);
            using var client = await ConnectAsync(port, cts.Token);
            var stream = client.GetStream();
            foreach (var b in "GET /small.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"u8.ToArray())
            {
                await stream.WriteAsync(new[] { b }, cts.Token);
                await Task.Delay(2, cts.Token);
            }

            var response = await RawHttp.ReadResponseAsync(stream, isHead: false, cts.Token);
            Assert.Equal((200, "small\n"), (response.Status, response.BodyText));
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Pipelined_requests_in_one_write_get_their_responses_in_order(string transport)
    {
        var (portico, port) = await StartAsync(transport);
        await using (portico)
        {
            using var cts = new CancellationTokenSource(RawHttp.Timeout);
            using var client = await ConnectAsync(port, cts.Token);
            var stream = client.GetStream();
            var request = "GET /small.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
                + "GET /missing HTTP/1.1\r\nHost: localhost\r\n\r\n"
                + "GET /small.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cts.Token);
            var all = new MemoryStream();
            await stream.CopyToAsync(all, cts.Token);

            var text = Encoding.ASCII.GetString(all.ToArray());
            var statuses = text.Split('\n').Where(line => line.StartsWith("HTTP/1.1 ", StringComparison.Ordinal)).Select(line => line[9..12]).ToArray();
            Assert.Equal(["200", "404", "200"], statuses);
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_client_slower_than_its_download_gets_every_byte(string transport)
    {
        var (portico, port) = await StartAsync(transport);
        await using (portico)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 16 * 1024 };
            await client.ConnectAsync(IPAddress.Loopback, port, cts.Token);
            await client.SendAsync("GET /large.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"u8.ToArray(), cts.Token);

            // The server's socket buffer fills and stays full while the reader sleeps: the send side must wait
            // for room again and again, and lose nothing.
            var received = new MemoryStream();
            var buffer = new byte[64 * 1024];
            int read;
            var reads = 0;
            while ((read = await client.ReceiveAsync(buffer, cts.Token)) > 0)
            {
                received.Write(buffer, 0, read);
                if (++reads % 8 == 0)
                {
                    await Task.Delay(5, cts.Token);
                }
            }

            var all = received.ToArray();
            var headEnd = all.AsSpan().IndexOf("\r\n\r\n"u8) + 4;
            Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(all, 0, 12), StringComparison.Ordinal);
            Assert.Equal(LargeSize, all.Length - headEnd);
            Assert.True(_large.AsSpan().SequenceEqual(all.AsSpan(headEnd)), "the body differs from the file");
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_client_that_resets_mid_download_does_not_disturb_the_next(string transport)
    {
        var (portico, port) = await StartAsync(transport);
        await using (portico)
        {
            for (var i = 0; i < 5; i++)
            {
                using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 16 * 1024 };
                await client.ConnectAsync(IPAddress.Loopback, port);
                await client.SendAsync("GET /large.bin HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray());
                var buffer = new byte[4096];
                Assert.True(await client.ReceiveAsync(buffer) > 0);

                // Linger 0: close() sends RST while the server still has megabytes to write.
                client.LingerState = new LingerOption(true, 0);
                client.Close();
            }

            var response = await RawHttp.GetAsync(port, "/small.txt");
            Assert.Equal((200, "small\n"), (response.Status, response.BodyText));
            Assert.DoesNotContain("[alert]", ErrorLog, StringComparison.Ordinal);
            Assert.DoesNotContain("event loop handler failed", portico.Stderr, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Many_keepalive_clients_over_two_workers_are_all_served(string transport)
    {
        var (portico, port) = await StartAsync(transport, workers: "2");
        await using (portico)
        {
            var clients = Enumerable.Range(0, 64).Select(async _ =>
            {
                using var cts = new CancellationTokenSource(RawHttp.Timeout);
                using var client = await ConnectAsync(port, cts.Token);
                var stream = client.GetStream();
                var bodies = new List<string>();
                for (var i = 0; i < 5; i++)
                {
                    await stream.WriteAsync("GET /small.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray(), cts.Token);
                    var response = await RawHttp.ReadResponseAsync(stream, isHead: false, cts.Token);
                    bodies.Add(response.Status + " " + response.BodyText);
                }

                return bodies;
            });

            var all = (await Task.WhenAll(clients)).SelectMany(b => b).ToList();
            Assert.Equal(64 * 5, all.Count);
            Assert.All(all, body => Assert.Equal("200 small\n", body));
        }
    }
}
