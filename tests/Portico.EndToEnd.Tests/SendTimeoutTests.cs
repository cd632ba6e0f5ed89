using System.Net;
using System.Net.Sockets;

namespace Portico.EndToEnd.Tests;

/// <summary>
/// nginx's send_timeout (https://nginx.org/en/docs/http/ngx_http_core_module.html#send_timeout): a client that takes
/// nothing of a response for that long is disconnected, per location; one that only pauses for less gets every
/// byte. Each case runs on nginx and Portico at once, with the same config, and both must agree.
/// </summary>
public sealed class SendTimeoutTests : IDisposable
{
    // Larger than what the kernel buffers between the two ends, so the server's send must wait for the reader.
    private const int FileSize = 16 * 1024 * 1024;

    private const string Http = """
        http {
            access_log off;
            error_log {errorlog} info;
            server {
                listen 127.0.0.1:{port};
                root {root}/www;
                location /cut/ {
                    send_timeout 1s;
                }
            }
        }
        """;

    private readonly TempDir _dir = new();

    public SendTimeoutTests()
    {
        var body = new byte[FileSize];
        new Random(5).NextBytes(body);
        Directory.CreateDirectory(Path.Combine(_dir.Path, "www", "cut"));
        File.WriteAllBytes(Path.Combine(_dir.Path, "www", "large.bin"), body);
        File.WriteAllBytes(Path.Combine(_dir.Path, "www", "cut", "large.bin"), body);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_client_that_takes_nothing_for_the_locations_send_timeout_is_disconnected()
    {
        var results = await OnBothAsync("/cut/large.bin", stall: TimeSpan.FromSeconds(4));
        foreach (var (server, body, ended, errorLog) in results)
        {
            Assert.True(ended, $"{server}: the connection was not closed");
            Assert.True(body < FileSize, $"{server}: the whole file came although the client stalled past send_timeout 1s");
            Assert.Contains("[info]", errorLog, StringComparison.Ordinal);
            Assert.Contains("client timed out (110: Connection timed out) while sending response to client, client: 127.0.0.1", errorLog, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_client_that_pauses_for_less_than_send_timeout_gets_every_byte()
    {
        // The stall that costs the client its download under /cut/ (send_timeout 1s), here under the default of 60s.
        var results = await OnBothAsync("/large.bin", stall: TimeSpan.FromSeconds(4));
        foreach (var (server, body, ended, errorLog) in results)
        {
            Assert.True(ended, $"{server}: the response did not end");
            Assert.Equal(FileSize, body);
            Assert.DoesNotContain("timed out", errorLog, StringComparison.Ordinal);
        }
    }

    /// <summary>The same stalled download from nginx and from Portico, side by side, with each one's error log.</summary>
    private async Task<(string Server, long Body, bool Ended, string ErrorLog)[]> OnBothAsync(string target, TimeSpan stall)
    {
        var nginxPort = FreePort.Next();
        var porticoPort = FreePort.Next();
        var nginxPrefix = Path.Combine(_dir.Path, "nginx");
        Directory.CreateDirectory(nginxPrefix);
        var nginxLog = Path.Combine(_dir.Path, "nginx-error.log");
        var porticoLog = Path.Combine(_dir.Path, "portico-error.log");
        var conf = _dir.Write("portico.conf", Expand(porticoPort, porticoLog));
        long nginxBody, porticoBody;
        bool nginxEnded, porticoEnded;
        await using (var nginx = await NginxProcess.StartAsync(nginxPrefix, Expand(nginxPort, nginxLog), nginxPort))
        await using (var portico = PorticoProcess.Start(_dir.Path, "-p", _dir.Path + "/", "-c", conf))
        {
            await portico.WaitForPortAsync(porticoPort);
            var fromNginx = DownloadAfterStallAsync(nginxPort, target, stall);
            var fromPortico = DownloadAfterStallAsync(porticoPort, target, stall);
            (nginxBody, nginxEnded) = await fromNginx;
            (porticoBody, porticoEnded) = await fromPortico;
        }

        return [("nginx", nginxBody, nginxEnded, ReadLog(nginxLog)), ("portico", porticoBody, porticoEnded, ReadLog(porticoLog))];
    }

    private static string ReadLog(string path) => File.Exists(path) ? File.ReadAllText(path) : "";

    private string Expand(int port, string errorLog) =>
        Http.Replace("{port}", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{errorlog}", errorLog, StringComparison.Ordinal)
            .Replace("{root}", _dir.Path, StringComparison.Ordinal);

    /// <summary>
    /// Asks for <paramref name="target"/> with a small receive buffer, reads nothing for <paramref name="stall"/>,
    /// then reads to the end. Returns the body bytes that came and whether the connection ended (a FIN or a reset)
    /// within the time a 16 MB read over loopback needs.
    /// </summary>
    private static async Task<(long Body, bool Ended)> DownloadAfterStallAsync(int port, string target, TimeSpan stall)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await client.ConnectAsync(IPAddress.Loopback, port);
        await client.SendAsync(System.Text.Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
        await Task.Delay(stall);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var buffer = new byte[256 * 1024];
        long total = 0;
        var headLength = -1;
        var head = new List<byte>();
        try
        {
            int read;
            while ((read = await client.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
            {
                total += read;
                if (headLength < 0)
                {
                    head.AddRange(buffer.AsSpan(0, read).ToArray());
                    var end = head.ToArray().AsSpan().IndexOf("\r\n\r\n"u8);
                    if (end >= 0)
                    {
                        headLength = end + 4;
                        Assert.StartsWith("HTTP/1.1 200", System.Text.Encoding.ASCII.GetString(head.ToArray(), 0, 12), StringComparison.Ordinal);
                    }
                }
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset)
        {
            // Closed with unread data on the server's side: a reset, as nginx's close after a timeout gives.
        }
        catch (OperationCanceledException)
        {
            return (total - Math.Max(headLength, 0), false);
        }

        return (total - Math.Max(headLength, 0), true);
    }
}
