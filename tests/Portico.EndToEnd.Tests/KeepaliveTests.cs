using Portico.EndToEnd.Tests.Logging;

namespace Portico.EndToEnd.Tests;

/// <summary>
/// When a client connection is kept (https://nginx.org/en/docs/http/ngx_http_core_module.html#keepalive_timeout and
/// #keepalive_requests): <c>keepalive_timeout 0</c> in a location closes the connection after its response, the
/// <c>keepalive_requests</c>-th request is the connection's last, and a second <c>keepalive_timeout</c> parameter is
/// sent as <c>Keep-Alive: timeout=N</c>. nginx and Portico side by side, same config.
/// </summary>
public sealed class KeepaliveTests : IDisposable
{
    private const string Http = """
        http {
            access_log off;
            keepalive_timeout 75s 60s;
            keepalive_requests 3;
            server {
                listen 127.0.0.1:{port};
                root {root}/www;
                location /once/ {
                    keepalive_timeout 0;
                }
            }
        }
        """;

    private const string AgedHttp = """
        http {
            access_log off;
            keepalive_time 1s;
            server {
                listen 127.0.0.1:{port};
                root {root}/www;
            }
        }
        """;

    // A server's own keepalive_timeout, shorter than the http level's, and a location's longer again.
    private const string ServerTimeoutHttp = """
        http {
            access_log off;
            keepalive_timeout 30s;
            server {
                listen 127.0.0.1:{port};
                root {root}/www;
                keepalive_timeout 1s;
                location /long/ {
                    keepalive_timeout 30s;
                }
            }
        }
        """;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(500);

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Connections_end_and_say_their_timeout_as_nginx_decides()
    {
        Directory.CreateDirectory(Path.Combine(_dir.Path, "www", "once"));
        File.WriteAllText(Path.Combine(_dir.Path, "www", "a.txt"), "a");
        File.WriteAllText(Path.Combine(_dir.Path, "www", "once", "b.txt"), "b");
        await using var servers = await NginxBesidePortico.StartAsync(_dir, Http);
        foreach (var (server, port) in servers.Servers)
        {
            // keepalive_requests 3: the first two are kept, and say how long; the third is the last.
            using (var client = await KeepAliveClient.ConnectAsync(port))
            {
                for (var i = 1; i <= 2; i++)
                {
                    var kept = await client.GetAsync("/a.txt");
                    Assert.True(kept.Status == 200, $"{server} #{i}: {kept}");
                    Assert.Equal("timeout=60", kept.Header("Keep-Alive"));
                    Assert.NotEqual("close", kept.Header("Connection"));
                }

                var last = await client.GetAsync("/a.txt");
                Assert.True(last.Status == 200, $"{server} #3: {last}");
                Assert.Equal("close", last.Header("Connection"));
                Assert.Null(last.Header("Keep-Alive"));
                Assert.True(await client.ClosedByServerAsync(Patience), $"{server} kept the connection after keepalive_requests");
            }

            // keepalive_timeout 0 in a location: its response ends the connection.
            using (var client = await KeepAliveClient.ConnectAsync(port))
            {
                var once = await client.GetAsync("/once/b.txt");
                Assert.True(once.Status == 200, $"{server}: {once}");
                Assert.Equal("close", once.Header("Connection"));
                Assert.Null(once.Header("Keep-Alive"));
                Assert.True(await client.ClosedByServerAsync(Patience), $"{server} kept the connection under keepalive_timeout 0");
            }

            // A client that asks to close gets no Keep-Alive header; one that does not is still kept after it.
            using (var client = await KeepAliveClient.ConnectAsync(port))
            {
                var kept = await client.GetAsync("/a.txt");
                Assert.Equal("timeout=60", kept.Header("Keep-Alive"));
                Assert.False(await client.ClosedByServerAsync(Quiet), $"{server} closed a kept connection");
                var closing = await client.GetAsync("/a.txt", headers: "Connection: close\r\n");
                Assert.Null(closing.Header("Keep-Alive"));
            }
        }
    }

    [Fact]
    public async Task The_location_of_the_last_request_decides_how_long_its_connection_waits_for_the_next()
    {
        Directory.CreateDirectory(Path.Combine(_dir.Path, "www", "long"));
        File.WriteAllText(Path.Combine(_dir.Path, "www", "a.txt"), "a");
        File.WriteAllText(Path.Combine(_dir.Path, "www", "long", "b.txt"), "b");
        await using var servers = await NginxBesidePortico.StartAsync(_dir, ServerTimeoutHttp);
        foreach (var (server, port) in servers.Servers)
        {
            // The server's 1s: an idle connection is closed after about a second, not at once and not after 30.
            using (var client = await KeepAliveClient.ConnectAsync(port))
            {
                var first = await client.GetAsync("/a.txt");
                Assert.True(first.Status == 200 && first.Header("Connection") != "close", $"{server}: {first}");
                var idle = System.Diagnostics.Stopwatch.StartNew();
                Assert.True(await client.ClosedByServerAsync(Patience), $"{server} kept a connection idle past the server's keepalive_timeout");
                Assert.True(idle.Elapsed > TimeSpan.FromMilliseconds(700), $"{server} closed after {idle.Elapsed}");
            }

            // A request the location with 30s answered: the connection waits longer than the server's second.
            using (var client = await KeepAliveClient.ConnectAsync(port))
            {
                var first = await client.GetAsync("/long/b.txt");
                Assert.True(first.Status == 200, $"{server}: {first}");
                Assert.False(await client.ClosedByServerAsync(TimeSpan.FromMilliseconds(2500)), $"{server} closed a connection under the location's 30s");
                var next = await client.GetAsync("/a.txt");
                Assert.True(next.Status == 200, $"{server}: {next}");

                // And that request's location (the server's 1s) decides the next wait.
                Assert.True(await client.ClosedByServerAsync(Patience), $"{server} kept the connection past 1s after /a.txt");
            }
        }
    }

    [Fact]
    public async Task A_connection_older_than_keepalive_time_ends_after_its_next_request()
    {
        Directory.CreateDirectory(Path.Combine(_dir.Path, "www"));
        File.WriteAllText(Path.Combine(_dir.Path, "www", "a.txt"), "a");
        await using var servers = await NginxBesidePortico.StartAsync(_dir, AgedHttp);
        foreach (var (server, port) in servers.Servers)
        {
            using var client = await KeepAliveClient.ConnectAsync(port);
            var young = await client.GetAsync("/a.txt");
            Assert.True(young.Status == 200 && young.Header("Connection") != "close", $"{server}: {young}");
            await Task.Delay(TimeSpan.FromMilliseconds(1500));
            var old = await client.GetAsync("/a.txt");
            Assert.True(old.Status == 200, $"{server}: {old}");
            Assert.Equal("close", old.Header("Connection"));
            Assert.True(await client.ClosedByServerAsync(Patience), $"{server} kept a connection older than keepalive_time");
        }
    }
}
