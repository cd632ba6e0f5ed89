using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Portico.EndToEnd.Tests.FastCgi;

/// <summary>Fake backends for the failures a real php-fpm does not produce on demand.</summary>
public sealed class MisbehavingBackendTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private FakeFastCgiBackend? _garbage;
    private FakeFastCgiBackend? _silent;
    private FakeFastCgiBackend? _stderr;
    private FakeFastCgiBackend? _diesMidBody;
    private FakeFastCgiBackend? _badHeader;
    private readonly List<Socket> _unanswered = [];
    private PorticoProcess? _portico;
    private int _port;

    private string ErrorLog => Path.Combine(_dir.Path, "error.log");

    public async Task InitializeAsync()
    {
        _garbage = new FakeFastCgiBackend(async (s, t) => await s.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\n\r\nthis is not FastCGI"), t));
        _silent = new FakeFastCgiBackend(async (s, t) => await Task.Delay(Timeout.Infinite, t));
        _stderr = new FakeFastCgiBackend(async (s, t) =>
        {
            await s.WriteAsync(FakeFastCgiBackend.Record(FakeFastCgiBackend.Stderr, "something went wrong\n"), t);
            await s.WriteAsync(FakeFastCgiBackend.Record(FakeFastCgiBackend.Stdout, "Content-Type: text/plain\r\n\r\nfine anyway"), t);
            await s.WriteAsync(FakeFastCgiBackend.Record(FakeFastCgiBackend.Stdout, ""), t);
            await s.WriteAsync(FakeFastCgiBackend.EndRequest(), t);
        });
        _diesMidBody = new FakeFastCgiBackend(async (s, t) =>
        {
            await s.WriteAsync(FakeFastCgiBackend.Record(FakeFastCgiBackend.Stdout, "Content-Type: text/plain\r\n\r\n" + new string('a', 30000)), t);
            await s.FlushAsync(t);
            await Task.Delay(200, t);
            s.Socket.Close(); // no END_REQUEST
        });
        _badHeader = new FakeFastCgiBackend(async (s, t) =>
        {
            await s.WriteAsync(FakeFastCgiBackend.Record(FakeFastCgiBackend.Stdout, "Content-Type text/plain without colon\r\n\r\nbody"), t);
            await s.WriteAsync(FakeFastCgiBackend.EndRequest(), t);
        });

        // A listener that never accepts, its queue filled: further SYNs are dropped, so a connect hangs.
        var full = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        full.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        full.Listen(1);
        _unanswered.Add(full);
        var fullPort = ((System.Net.IPEndPoint)full.LocalEndPoint!).Port;
        for (var i = 0; i < 4; i++)
        {
            var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _unanswered.Add(filler);
            _ = filler.ConnectAsync(full.LocalEndPoint!).ContinueWith(static t => t.Exception, TaskScheduler.Default);
        }

        await Task.Delay(200);

        _port = FreePort.Next();
        var config = $$"""
            daemon off;
            master_process off;
            error_log {{ErrorLog}} info;
            events { worker_connections 64; }
            http {
                access_log off;
                upstream unanswered { server 127.0.0.1:{{fullPort}}; }
                server {
                    listen 127.0.0.1:{{_port}};
                    server_name localhost;
                    location /garbage { fastcgi_pass 127.0.0.1:{{_garbage.Port}}; }
                    location /silent { fastcgi_read_timeout 1s; fastcgi_pass 127.0.0.1:{{_silent.Port}}; }
                    location /stderr { fastcgi_pass 127.0.0.1:{{_stderr.Port}}; }
                    location /dies { fastcgi_pass 127.0.0.1:{{_diesMidBody.Port}}; }
                    location /badheader { fastcgi_pass 127.0.0.1:{{_badHeader.Port}}; }
                    location /intercepted { error_page 502 504 = @down; fastcgi_read_timeout 1s; fastcgi_pass 127.0.0.1:{{_silent.Port}}; }
                    location @down { return 503 "maintenance\n"; }
                    location /unanswered { fastcgi_connect_timeout 300ms; fastcgi_pass unanswered; }
                }
            }
            """;
        var conf = _dir.Write("portico.conf", config);
        _portico = PorticoProcess.Start(_dir.Path, "-p", _dir.Path + "/", "-c", conf);
        await _portico.WaitForPortAsync(_port);
    }

    private async Task<string> WaitForLogAsync(string text)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var log = File.Exists(ErrorLog) ? await File.ReadAllTextAsync(ErrorLog) : "";
            if (log.Contains(text, StringComparison.Ordinal) || DateTime.UtcNow > deadline)
            {
                return log;
            }

            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Garbage_from_the_backend_is_a_502()
    {
        var response = await RawHttp.GetAsync(_port, "/garbage");

        Assert.Equal(502, response.Status);
        Assert.Contains("502 Bad Gateway", response.BodyText);
        Assert.Contains($"upstream: \"fastcgi://127.0.0.1:{_garbage!.Port.ToString(CultureInfo.InvariantCulture)}\"", await WaitForLogAsync("while reading response header from upstream"));
    }

    [Fact]
    public async Task Silent_backend_times_out_with_504()
    {
        var started = DateTime.UtcNow;
        var response = await RawHttp.GetAsync(_port, "/silent");

        Assert.Equal(504, response.Status);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
        Assert.Contains("upstream timed out (110: Connection timed out) while reading response header from upstream", await WaitForLogAsync("upstream timed out"));
    }

    [Fact]
    public async Task Location_connect_timeout_applies_to_an_upstream_group()
    {
        // http-level fastcgi_connect_timeout is the default 60s; the location's 300ms must win (nginx reads
        // it from the location even though the upstream block is shared).
        var started = DateTime.UtcNow;
        var response = await RawHttp.GetAsync(_port, "/unanswered");

        Assert.Equal(504, response.Status);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5), "took " + (DateTime.UtcNow - started));
        Assert.Contains("upstream timed out (110: Connection timed out) while connecting to upstream", await WaitForLogAsync("while connecting to upstream"));
    }

    [Fact]
    public async Task Gateway_errors_can_go_to_an_error_page()
    {
        var response = await RawHttp.GetAsync(_port, "/intercepted");

        Assert.Equal(503, response.Status);
        Assert.Equal("maintenance\n", response.BodyText);
    }

    [Fact]
    public async Task Stderr_is_logged_and_the_response_still_served()
    {
        var response = await RawHttp.GetAsync(_port, "/stderr");
        Assert.Equal(200, response.Status);
        Assert.Equal("fine anyway", response.BodyText);

        var log = await WaitForLogAsync("something went wrong");
        Assert.Matches(
            $"\\[error\\] \\d+#\\d+: \\*\\d+ FastCGI sent in stderr: \"something went wrong\" while reading response header from upstream, client: 127\\.0\\.0\\.1, server: localhost, request: \"GET /stderr HTTP/1\\.1\", upstream: \"fastcgi://127\\.0\\.0\\.1:{_stderr!.Port}\", host: \"localhost\"",
            log);
    }

    [Fact]
    public async Task Backend_dying_mid_body_truncates_the_response()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", _port, cts.Token);
        var stream = client.GetStream();
        await stream.WriteAsync("GET /dies HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray(), cts.Token);
        var received = new MemoryStream();
        var buffer = new byte[65536];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cts.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (IOException)
        {
        }

        var text = Encoding.ASCII.GetString(received.ToArray());
        Assert.False(cts.IsCancellationRequested, "hung");
        Assert.StartsWith("HTTP/1.1 200", text);
        Assert.Contains(new string('a', 1000), text);
        Assert.False(text.EndsWith("0\r\n\r\n", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Invalid_header_from_the_backend_is_a_502()
    {
        var response = await RawHttp.GetAsync(_port, "/badheader");

        Assert.Equal(502, response.Status);
        Assert.Contains("upstream sent invalid header while reading response header from upstream", await WaitForLogAsync("invalid header"));
    }

    public async Task DisposeAsync()
    {
        if (_portico is not null)
        {
            await _portico.DisposeAsync();
        }

        foreach (var backend in new[] { _garbage, _silent, _stderr, _diesMidBody, _badHeader })
        {
            if (backend is not null)
            {
                await backend.DisposeAsync();
            }
        }

        foreach (var socket in _unanswered)
        {
            socket.Dispose();
        }

        _dir.Dispose();
    }
}
