using System.Net.Sockets;
using System.Text;

namespace Portico.EndToEnd.Tests.FastCgi;

/// <summary>A site whose php-fpm the tests kill and restart.</summary>
public sealed class PhpCrashSite : PhpSite
{
    protected override string Config => """
        http {
            access_log off;
            upstream php { server {tcp}; keepalive 2; }
            server {
                listen 127.0.0.1:{port};
                server_name localhost;
                root {root}/www;
                location ~ \.php$ {
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
                    fastcgi_keep_conn on;
                    fastcgi_pass php;
                }
            }
        }
        """;
}

public sealed class PhpFpmCrashTests(PhpCrashSite site) : IClassFixture<PhpCrashSite>
{
    [PhpFpmFact]
    public async Task Php_fpm_killed_mid_response_truncates_then_the_server_recovers_after_restart()
    {
        // Warm the keep-alive pool so that stale pooled connections exist after the restart.
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(200, (await RawHttp.GetAsync(site.Port, "/hello.php")).Status);
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", site.Port, cts.Token);
        var stream = client.GetStream();
        await stream.WriteAsync("GET /hang.php HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray(), cts.Token);

        // The head and the first 100 KB arrive while the script sleeps.
        var received = new MemoryStream();
        var buffer = new byte[65536];
        while (received.Length < 100_000)
        {
            var read = await stream.ReadAsync(buffer, cts.Token);
            Assert.True(read > 0, "connection closed before the first part arrived");
            received.Write(buffer, 0, read);
        }

        Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(received.GetBuffer(), 0, 12));
        await site.Fpm!.KillAsync();

        // The connection is closed promptly, without the last chunk: a truncated response, never a hang.
        while (true)
        {
            int read;
            try
            {
                read = await stream.ReadAsync(buffer, cts.Token);
            }
            catch (IOException)
            {
                break;
            }

            if (read == 0)
            {
                break;
            }

            received.Write(buffer, 0, read);
        }

        Assert.False(cts.IsCancellationRequested, "the response hung after php-fpm died");
        Assert.False(Encoding.ASCII.GetString(received.ToArray()).EndsWith("0\r\n\r\n", StringComparison.Ordinal), "a killed backend must not look like a complete response");

        // While php-fpm is down: 502, quickly.
        var down = await RawHttp.GetAsync(site.Port, "/hello.php");
        Assert.Equal(502, down.Status);

        // php-fpm comes back on the same port: requests succeed again without restarting portico.
        await site.Fpm.RestartAsync();
        for (var i = 0; i < 4; i++)
        {
            var response = await RawHttp.GetAsync(site.Port, "/hello.php");
            Assert.Equal(200, response.Status);
            Assert.Equal("Hello from PHP\n", response.BodyText);
        }

        Assert.Contains("upstream prematurely closed FastCGI stdout while reading upstream", await site.WaitForErrorLogAsync("prematurely closed"));
    }
}
