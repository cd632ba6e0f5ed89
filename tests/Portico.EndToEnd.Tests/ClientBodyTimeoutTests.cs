using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Portico.EndToEnd.Tests;

/// <summary>
/// nginx's client_body_timeout (https://nginx.org/en/docs/http/ngx_http_core_module.html#client_body_timeout): a
/// client that sends nothing of its request body for that long gets its request ended with 408 (in the access log
/// only; the connection is closed without an answer), per location; one that pauses for less gets its request through. The
/// body is read before any backend is contacted (fastcgi_request_buffering on), so the backend here is a closed
/// port: a request that gets through is a 502. Each case runs on nginx and Portico at once, with the same config.
/// </summary>
public sealed class ClientBodyTimeoutTests : IDisposable
{
    private const int BodyLength = 100_000;

    private const string Http = """
        http {
            log_format short '$request_uri $status';
            access_log logs/access.log short;
            error_log logs/error.log info;
            server {
                listen 127.0.0.1:{port};
                root {root}/www;
                location /cut/ {
                    client_body_timeout 1s;
                    fastcgi_pass 127.0.0.1:{dead};
                }
                location / {
                    fastcgi_pass 127.0.0.1:{dead};
                }
            }
        }
        """;

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_client_that_sends_nothing_of_its_body_for_the_locations_timeout_gets_408_and_a_closed_connection()
    {
        var results = await OnBothAsync("/cut/upload.php", stall: TimeSpan.FromSeconds(4));
        foreach (var (server, response, log, errorLog) in results)
        {
            Assert.True(response.Length == 0, $"{server} answered: {response}");
            Assert.Equal("/cut/upload.php 408", log);
            // nginx 1.22 writes no error-log line for a body that timed out (a send that times out has one).
            Assert.DoesNotContain("timed out", errorLog, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_client_that_pauses_for_less_than_client_body_timeout_gets_its_request_through()
    {
        // The stall that ends the request under /cut/ (client_body_timeout 1s), here under the default of 60s.
        var results = await OnBothAsync("/upload.php", stall: TimeSpan.FromSeconds(4));
        foreach (var (server, response, log, errorLog) in results)
        {
            Assert.True(response.StartsWith("HTTP/1.1 502", StringComparison.Ordinal), $"{server} answered: {response}");
            Assert.Equal("/upload.php 502", log);
            Assert.DoesNotContain("timed out", errorLog, StringComparison.Ordinal);
        }
    }

    /// <summary>The same stalled upload to nginx and to Portico, side by side; each one's answer, access log line and
    /// error log.</summary>
    private async Task<(string Server, string Response, string Log, string ErrorLog)[]> OnBothAsync(string target, TimeSpan stall)
    {
        var nginxPort = FreePort.Next();
        var porticoPort = FreePort.Next();
        var dead = FreePort.Next();
        var nginxPrefix = Path.Combine(_dir.Path, "nginx");
        var porticoPrefix = Path.Combine(_dir.Path, "portico");
        Directory.CreateDirectory(Path.Combine(_dir.Path, "www"));
        Directory.CreateDirectory(Path.Combine(porticoPrefix, "logs"));
        var conf = _dir.Write("portico/portico.conf", Expand(porticoPort, dead));
        await using var nginx = await NginxProcess.StartAsync(nginxPrefix, Expand(nginxPort, dead), nginxPort);
        await using var portico = PorticoProcess.Start(porticoPrefix, "-p", porticoPrefix + "/", "-c", conf);
        await portico.WaitForPortAsync(porticoPort);

        var fromNginx = UploadWithStallAsync(nginxPort, target, stall);
        var fromPortico = UploadWithStallAsync(porticoPort, target, stall);
        var nginxResponse = await fromNginx;
        var porticoResponse = await fromPortico;
        return
        [
            ("nginx", nginxResponse, await LastLogLineAsync(nginxPrefix), ErrorLog(nginxPrefix)),
            ("portico", porticoResponse, await LastLogLineAsync(porticoPrefix), ErrorLog(porticoPrefix)),
        ];
    }

    private static string ErrorLog(string prefix) =>
        File.Exists(Path.Combine(prefix, "logs", "error.log")) ? File.ReadAllText(Path.Combine(prefix, "logs", "error.log")) : "";

    private string Expand(int port, int dead) =>
        Http.Replace("{port}", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{dead}", dead.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{root}", _dir.Path, StringComparison.Ordinal);

    /// <summary>The access log's one line (each server answers one request here).</summary>
    private static async Task<string> LastLogLineAsync(string prefix) =>
        (await Logging.LogServer.WaitForLinesAsync(Path.Combine(prefix, "logs", "access.log"), 1))[^1];

    /// <summary>
    /// POSTs <paramref name="target"/> with a body of <see cref="BodyLength"/> bytes: a first part, nothing for
    /// <paramref name="stall"/>, then the rest (if the server still takes it). Returns what the server answered,
    /// empty when it closed the connection without an answer.
    /// </summary>
    private static async Task<string> UploadWithStallAsync(int port, string target, TimeSpan stall)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, port);
        var head = $"POST {target} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: {BodyLength}\r\n\r\n";
        await client.SendAsync(Encoding.ASCII.GetBytes(head));
        await client.SendAsync(new byte[1000]);
        await Task.Delay(stall);
        try
        {
            await client.SendAsync(new byte[BodyLength - 1000]);
        }
        catch (SocketException)
        {
            // The server closed the connection during the stall.
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await client.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
            {
                received.Write(buffer, 0, read);
                if (Encoding.ASCII.GetString(received.ToArray()).Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    break; // a head is enough: the status is what is compared
                }
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset)
        {
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }
}
