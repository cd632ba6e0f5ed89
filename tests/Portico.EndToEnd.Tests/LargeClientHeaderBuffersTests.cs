using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Portico.EndToEnd.Tests;

/// <summary>
/// large_client_header_buffers (https://nginx.org/en/docs/http/ngx_http_core_module.html#large_client_header_buffers):
/// a request line must fit one buffer, or the answer is 414. With 4 16k a 12 KB request line is served (it was
/// refused at the default's 8 KB), and a 20 KB one is still refused. nginx and Portico side by side, same config.
/// </summary>
public sealed class LargeClientHeaderBuffersTests : IDisposable
{
    private const string Http = """
        http {
            access_log off;
            large_client_header_buffers 4 16k;
            server {
                listen 127.0.0.1:{port};
                root {root}/www;
            }
        }
        """;

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(12 * 1024, "404")]
    [InlineData(20 * 1024, "414")]
    public async Task A_request_line_is_served_when_it_fits_one_buffer_and_refused_with_414_when_not(int length, string status)
    {
        Directory.CreateDirectory(Path.Combine(_dir.Path, "www"));
        await using var servers = await NginxBesidePortico.StartAsync(_dir, Http);

        var target = "/" + new string('a', length);
        foreach (var (server, port) in servers.Servers)
        {
            var head = await StatusLineAsync(port, $"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            Assert.True(head.StartsWith("HTTP/1.1 " + status, StringComparison.Ordinal), $"{server}: {head}");
        }
    }

    private static async Task<string> StatusLineAsync(int port, string request)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        await client.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None, cts.Token);
        var received = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await client.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
            {
                received.Write(buffer, 0, read);
                if (received.ToArray().AsSpan().IndexOf("\r\n"u8) >= 0)
                {
                    break;
                }
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset)
        {
        }

        var text = Encoding.ASCII.GetString(received.ToArray());
        var end = text.IndexOf("\r\n", StringComparison.Ordinal);
        return end < 0 ? text : text[..end];
    }
}
