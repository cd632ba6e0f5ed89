namespace Portico.EndToEnd.Tests.FastCgi;

/// <summary>A site under nginx and under portico where clients send a request and then close their side.</summary>
public sealed class HalfCloseSite : NginxBesidePhpSite
{
    protected override string Config => """
        http {
            include /etc/nginx/mime.types;
            default_type application/octet-stream;
            log_format plain '$request $status $body_bytes_sent';
            access_log {root}/access-{port}.log plain;
            upstream php { server {tcp}; keepalive 2; }
            server {
                listen 127.0.0.1:{port};
                root {root}/www;
                location /ignore/ {
                    fastcgi_ignore_client_abort on;
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root/slow.php;
                    fastcgi_keep_conn on;
                    fastcgi_pass php;
                }
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

/// <summary>
/// The client's FIN after its request (<c>shutdown(SHUT_WR)</c>, as <c>nc -N</c> or an HTTP/1.0 client may do)
/// is the end of its input, not of the connection (nginx): a static response still goes out, while a request
/// passed to FastCGI is cut short with a 499 unless <c>fastcgi_ignore_client_abort on</c>
/// (ngx_http_upstream_check_broken_connection). Every case runs against nginx too.
/// </summary>
public sealed class HalfCloseTests(HalfCloseSite site) : IClassFixture<HalfCloseSite>
{
    private const string StaticText = "a static file, sent whole after the client's FIN\n";

    public static TheoryData<string> Servers => new() { "nginx", "portico" };

    [PhpFpmTheory(NginxProcess.Binary)]
    [MemberData(nameof(Servers))]
    public async Task A_static_file_is_still_sent_after_the_client_half_closes(string server)
    {
        WriteStaticFile();
        var response = await RawHttp.SendAndReadToEndAsync(Port(server), "GET /half.txt HTTP/1.0\r\nHost: localhost\r\n\r\n", halfClose: true);

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n" + StaticText, response, StringComparison.Ordinal);
        await site.WaitForAccessLineAsync(Port(server), $"GET /half.txt HTTP/1.0 200 {StaticText.Length}");
    }

    [PhpFpmTheory(NginxProcess.Binary)]
    [MemberData(nameof(Servers))]
    public async Task Requests_pipelined_before_the_fin_are_all_answered_then_the_connection_closes(string server)
    {
        WriteStaticFile();
        var response = await RawHttp.SendAndReadToEndAsync(Port(server), "GET /half.txt HTTP/1.1\r\nHost: localhost\r\n\r\nGET /half.txt?second HTTP/1.1\r\nHost: localhost\r\n\r\n", halfClose: true);

        // Both answered in order; the read ended, so the server closed the connection after the second.
        var first = response.IndexOf("HTTP/1.1 200 OK", StringComparison.Ordinal);
        var second = response.IndexOf("HTTP/1.1 200 OK", first + 1, StringComparison.Ordinal);
        Assert.True(first == 0 && second > 0, response);
        Assert.Contains(StaticText, response[..second], StringComparison.Ordinal);
        Assert.EndsWith(StaticText, response, StringComparison.Ordinal);
    }

    [PhpFpmTheory(NginxProcess.Binary)]
    [MemberData(nameof(Servers))]
    public async Task A_php_request_after_the_fin_is_logged_499_exactly_when_its_response_never_left(string server)
    {
        // A static request, then a PHP one, then the FIN, all in one go: whether the FIN is seen before php answers
        // is a race, but what the client got and what the access log says must agree every time.
        WriteStaticFile();
        const int Rounds = 30;
        var received = new bool[Rounds];
        for (var i = 0; i < Rounds; i++)
        {
            var response = await RawHttp.SendAndReadToEndAsync(Port(server), $"GET /half.txt HTTP/1.1\r\nHost: localhost\r\n\r\nGET /hello.php?i={i} HTTP/1.1\r\nHost: localhost\r\n\r\n", halfClose: true);
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
            received[i] = response.Contains("Hello from PHP", StringComparison.Ordinal);
        }

        for (var i = 0; i < Rounds; i++)
        {
            await site.WaitForAccessLineAsync(Port(server), received[i] ? $"GET /hello.php?i={i} HTTP/1.1 200 " : $"GET /hello.php?i={i} HTTP/1.1 499 0");
        }
    }

    [PhpFpmTheory(NginxProcess.Binary)]
    [MemberData(nameof(Servers))]
    public async Task A_php_request_is_cut_short_with_499_when_the_client_half_closes(string server)
    {
        var response = await RawHttp.SendAndReadToEndAsync(Port(server), "GET /slow.php HTTP/1.0\r\nHost: localhost\r\n\r\n", halfClose: true);

        Assert.Equal("", response);
        await site.WaitForAccessLineAsync(Port(server), "GET /slow.php HTTP/1.0 499 0");
        if (server == "portico")
        {
            var log = await site.WaitForErrorLogAsync("client prematurely closed connection");
            Assert.Contains("[info]", log, StringComparison.Ordinal);
            Assert.Contains("epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too", log, StringComparison.Ordinal);
        }

        // The backend connection that was cut does not come back: the next request gets a sound one.
        var next = await RawHttp.GetAsync(Port(server), "/hello.php");
        Assert.Equal(200, next.Status);
        Assert.Equal("Hello from PHP\n", next.BodyText);
    }

    [PhpFpmTheory(NginxProcess.Binary)]
    [MemberData(nameof(Servers))]
    public async Task With_fastcgi_ignore_client_abort_on_the_php_response_still_comes(string server)
    {
        var response = await RawHttp.SendAndReadToEndAsync(Port(server), "GET /ignore/x HTTP/1.0\r\nHost: localhost\r\n\r\n", halfClose: true);

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.Contains("\r\n\r\nslow ", response, StringComparison.Ordinal);
        await site.WaitForAccessLineAsync(Port(server), "GET /ignore/x HTTP/1.0 200 ");
    }

    private int Port(string server) => server == "nginx" ? site.NginxPort : site.Port;

    private void WriteStaticFile() => File.WriteAllText(Path.Combine(site.Root, "www", "half.txt"), StaticText);
}
