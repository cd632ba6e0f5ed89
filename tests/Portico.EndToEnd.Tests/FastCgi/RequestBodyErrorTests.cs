namespace Portico.EndToEnd.Tests.FastCgi;

/// <summary>A PHP site under nginx and under portico whose clients send request bodies that go wrong.</summary>
public sealed class RequestBodyErrorSite : NginxBesidePhpSite
{
    protected override string Config => """
        http {
            log_format plain '$request $status';
            access_log {root}/access-{port}.log plain;
            server {
                listen 127.0.0.1:{port};
                root {root}/www;
                location ^~ /unbuffered/ {
                    client_body_timeout 1s;
                    fastcgi_request_buffering off;
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root/echobody.php;
                    fastcgi_pass {tcp};
                }
                location ~ \.php$ {
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
                    fastcgi_pass {tcp};
                }
            }
        }
        """;
}

/// <summary>
/// A request body read for FastCGI (buffered first, as nginx does) that is malformed gets nginx's 400 page; one
/// the client stops sending (its FIN before the declared length, or before the last chunk) gets nothing and is
/// logged 400 (ngx_http_read_client_request_body: "client prematurely closed connection"); one streamed to php-fpm
/// unbuffered that stalls past client_body_timeout gets nothing and is logged 408. Never a 500 or a 502, and a
/// buffered body never reaches the backend. Every case runs against nginx too.
/// </summary>
public sealed class RequestBodyErrorTests(RequestBodyErrorSite site) : IClassFixture<RequestBodyErrorSite>
{
    public static TheoryData<string> Servers => new() { "nginx", "portico" };

    [PhpFpmTheory(NginxProcess.Binary)]
    [MemberData(nameof(Servers))]
    public async Task A_malformed_chunk_gets_400(string server)
    {
        var response = await RawHttp.SendAndReadToEndAsync(Port(server), "POST /echobody.php?bad-chunk HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", halfClose: false);

        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", response, StringComparison.Ordinal);
        Assert.DoesNotContain("POST", response, StringComparison.Ordinal); // the script never ran
        await site.WaitForAccessLineAsync(Port(server), "POST /echobody.php?bad-chunk HTTP/1.1 400");
    }

    [PhpFpmTheory(NginxProcess.Binary)]
    [MemberData(nameof(Servers))]
    public Task A_body_shorter_than_its_content_length_then_the_fin_gets_nothing_and_is_logged_400(string server) =>
        AssertCutShortAsync(server, "short", "Content-Length: 100\r\n\r\nonly a part");

    [PhpFpmTheory(NginxProcess.Binary)]
    [MemberData(nameof(Servers))]
    public Task A_chunked_body_without_its_last_chunk_then_the_fin_gets_nothing_and_is_logged_400(string server) =>
        AssertCutShortAsync(server, "unfinished", "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");

    [PhpFpmTheory(NginxProcess.Binary)]
    [MemberData(nameof(Servers))]
    public async Task A_body_streamed_to_php_that_stalls_past_client_body_timeout_gets_nothing_and_is_logged_408(string server)
    {
        // fastcgi_request_buffering off: the body goes to php-fpm as it comes, and the script waits for the rest. No
        // FIN: the client just stops sending. client_body_timeout 1s ends the request (a timeout while streaming
        // the body is the client's, never a 502).
        var started = System.Diagnostics.Stopwatch.StartNew();
        var response = await RawHttp.SendAndReadToEndAsync(Port(server), "POST /unbuffered/stall HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nonly a part", halfClose: false);

        Assert.Equal("", response);
        Assert.True(started.Elapsed >= TimeSpan.FromSeconds(0.9), $"closed after {started.Elapsed}, before the timeout");
        await site.WaitForAccessLineAsync(Port(server), "POST /unbuffered/stall HTTP/1.1 408");
    }

    /// <summary>
    /// Sends a POST whose body (after <paramref name="bodyHeaderAndPart"/>) the client stops with its FIN, 20 times: how
    /// Kestrel reports the end (an exception from the read, or an abort first) is a race. Nothing may come back, and
    /// each must be logged 400.
    /// </summary>
    private async Task AssertCutShortAsync(string server, string name, string bodyHeaderAndPart)
    {
        for (var i = 0; i < 20; i++)
        {
            var response = await RawHttp.SendAndReadToEndAsync(Port(server), $"POST /echobody.php?{name}={i} HTTP/1.1\r\nHost: localhost\r\n{bodyHeaderAndPart}", halfClose: true);
            Assert.Equal("", response);
        }

        for (var i = 0; i < 20; i++)
        {
            await site.WaitForAccessLineAsync(Port(server), $"POST /echobody.php?{name}={i} HTTP/1.1 400");
        }
    }

    private int Port(string server) => server == "nginx" ? site.NginxPort : site.Port;
}
