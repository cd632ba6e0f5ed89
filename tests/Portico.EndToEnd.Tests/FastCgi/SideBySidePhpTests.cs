using System.Text.Json;

namespace Portico.EndToEnd.Tests.FastCgi;

/// <summary>The same PHP site under real nginx and under portico, both passing to one php-fpm pool.</summary>
public sealed class SideBySidePhpSite : NginxBesidePhpSite
{
    protected override string Config => """
        http {
            include /etc/nginx/mime.types;
            default_type application/octet-stream;
            access_log off;
            upstream php { server {tcp}; keepalive 2; }
            server {
                listen 127.0.0.1:{port};
                server_name localhost;
                root {root}/www;
                index index.php index.html;
                # php's own "text/html; charset=UTF-8" is kept; a type without a charset gets this one.
                charset utf-8;
                location /protected/ { internal; }
                location /errors/ { internal; }
                location @fallback { return 200 "named fallback for $uri\n"; }
                location / { try_files $uri $uri/ /index.php?$args; }

                location ~ ^/split/.+\.php(/|$) {
                    fastcgi_split_path_info ^/split(/.+?\.php)(/.*)$;
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
                    fastcgi_param PATH_INFO $fastcgi_path_info;
                    fastcgi_pass php;
                }

                location ~ ^/safe/.+\.php(/|$) {
                    fastcgi_split_path_info ^/safe(/.+?\.php)(/.*)$;
                    try_files $fastcgi_script_name =404;
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
                    fastcgi_param PATH_INFO $fastcgi_path_info;
                    fastcgi_pass php;
                }

                # Debian's snippets/fastcgi-php.conf: set keeps the path info that try_files resets (nginx ticket 321).
                location ~ ^/deb/.+\.php(/|$) {
                    fastcgi_split_path_info ^/deb(/.+?\.php)(/.*)$;
                    try_files $fastcgi_script_name =404;
                    set $path_info $fastcgi_path_info;
                    fastcgi_param PATH_INFO $path_info;
                    fastcgi_index index.php;
                    include fastcgi.conf;
                    fastcgi_pass php;
                }

                # The snippet itself, as Debian's default site includes it.
                location ~ ^/server\.php/ {
                    include /etc/nginx/snippets/fastcgi-php.conf;
                    fastcgi_pass php;
                }

                location ~ ^/intercept/(.+\.php)$ {
                    fastcgi_intercept_errors on;
                    error_page 404 /errors/404.html;
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root/$1;
                    fastcgi_pass php;
                }

                location ~ ^/noheaders/(.+\.php)$ {
                    fastcgi_pass_request_headers off;
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root/$1;
                    fastcgi_pass php;
                }

                location ~ ^/noaccel/(.+\.php)$ {
                    fastcgi_ignore_headers X-Accel-Redirect;
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root/$1;
                    fastcgi_pass php;
                }

                location ~ ^/catch/(.+\.php)$ {
                    fastcgi_catch_stderr "boom";
                    fastcgi_catch_stderr "never written";
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root/$1;
                    fastcgi_keep_conn on;
                    fastcgi_pass php;
                }

                location ~ ^/ranges/(.+\.php)$ {
                    fastcgi_force_ranges on;
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root/$1;
                    fastcgi_keep_conn on;
                    fastcgi_pass php;
                }

                location ~ ^/nobody/(.+\.php)$ {
                    fastcgi_pass_request_body off;
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root/$1;
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

public sealed class SideBySidePhpTests(SideBySidePhpSite site) : IClassFixture<SideBySidePhpSite>
{
    private static readonly string[] s_keyHeaders = ["Content-Type", "Location", "Set-Cookie", "X-Custom", "X-Powered", "Transfer-Encoding", "X-Accel-Redirect", "Status"];

    [PhpFpmTheory(NginxProcess.Binary)]
    [InlineData("/hello.php")]
    [InlineData("/query.php?a=1&b=two%20words")]
    [InlineData("/status.php")]
    [InlineData("/redirect.php")]
    [InlineData("/notfound.php")]
    [InlineData("/split/pathinfo.php/some/extra")]
    [InlineData("/split/pathinfo.php")]
    [InlineData("/safe/pathinfo.php/some/extra")]
    [InlineData("/safe/pathinfo.php/a%0Ab")]
    [InlineData("/safe/missing.php")]
    [InlineData("/deb/pathinfo.php/some/extra")]
    [InlineData("/deb/missing.php/x")]
    [InlineData("/deb/pathinfo.php")]
    [InlineData("/2024/01/hello-world/")]
    [InlineData("/?p=1")]
    [InlineData("/wp/style.css")]
    [InlineData("/accel.php")]
    [InlineData("/noaccel/accel.php")]
    [InlineData("/accelnamed.php")]
    [InlineData("/intercept/notfound.php")]
    [InlineData("/intercept/status.php")]
    [InlineData("/missing.php")]
    [InlineData("/catch/catch-early.php")]
    [InlineData("/catch/catch-late.php")]
    [InlineData("/catch/stderr.php")]
    public async Task Same_status_key_headers_and_body_as_nginx(string target)
    {
        var nginx = await RawHttp.GetAsync(site.NginxPort, target);
        var portico = await RawHttp.GetAsync(site.Port, target);

        Assert.Equal(nginx.Status, portico.Status);
        foreach (var name in s_keyHeaders)
        {
            if (name == "Transfer-Encoding" && nginx.Body.Length == 0)
            {
                // An empty body: nginx sends an empty chunked body, Kestrel "Content-Length: 0"; both frame it.
                continue;
            }

            var expected = string.Join(" | ", nginx.HeaderValues(name));
            var actual = string.Join(" | ", portico.HeaderValues(name));
            if (name == "Location")
            {
                // Known difference (ResponseHeaders, outside the FastCGI handler): nginx passes a relative
                // Location from an upstream unchanged; portico makes every relative Location absolute.
                expected = expected.Replace($":{site.NginxPort}/", ":PORT/", StringComparison.Ordinal);
                actual = actual.Replace($":{site.Port}/", ":PORT/", StringComparison.Ordinal);
                if (!expected.StartsWith("http", StringComparison.Ordinal))
                {
                    actual = actual.Replace("http://localhost:PORT/", "/", StringComparison.Ordinal);
                }
            }

            Assert.True(expected == actual, $"{name}: nginx \"{expected}\", portico \"{actual}\"");
        }

        if (nginx.Status < 400 || nginx.Header("Content-Type")?.StartsWith("text/html", StringComparison.Ordinal) != true || target.EndsWith(".php", StringComparison.Ordinal))
        {
            Assert.Equal(nginx.BodyText.Replace("nginx/1.22.1", "X"), portico.BodyText.Replace("portico/0.1.0", "X"));
        }
    }

    [PhpFpmTheory(NginxProcess.Binary)]
    [InlineData("/server.php?x=1&y=2", "")]
    [InlineData("/split/server.php/a/b", "")]
    [InlineData("/safe/server.php/a/b", "")]
    [InlineData("/deb/server.php/a/b", "")]
    [InlineData("/server.php/a/b", "")]
    [InlineData("/server.php", "X-Forwarded-For: 10.1.1.1\r\nX_Dropped: 1\r\nCookie: a=1; b=2\r\nAccept: text/html\r\n")]
    [InlineData("/noheaders/server.php", "X-Forwarded-For: 10.1.1.1\r\nCookie: a=1; b=2\r\nAccept: text/html\r\n")]
    public async Task Same_cgi_params_as_nginx(string target, string headers)
    {
        var nginx = Vars(await RawHttp.GetAsync(site.NginxPort, target, extraHeaders: headers));
        var portico = Vars(await RawHttp.GetAsync(site.Port, target, extraHeaders: headers));

        string[] port = ["SERVER_PORT", "REMOTE_PORT", "HTTP_HOST", "SERVER_SOFTWARE", "REQUEST_TIME", "REQUEST_TIME_FLOAT", "PHP_SELF_PORT"];
        foreach (var (name, value) in nginx)
        {
            if (port.Contains(name))
            {
                continue;
            }

            Assert.True(portico.TryGetValue(name, out var mine), $"portico did not send {name} (nginx: \"{value}\")");
            Assert.True(value == mine, $"{name}: nginx \"{value}\", portico \"{mine}\"");
        }

        Assert.Equal(nginx.Keys.Except(port).Order(), portico.Keys.Except(port).Order());
    }

    [PhpFpmTheory(NginxProcess.Binary)]
    [InlineData("/nobody/echobody.php", "Content-Length: 10\r\n")]
    [InlineData("/nobody/echobody.php", "Transfer-Encoding: chunked\r\n")]
    public async Task With_fastcgi_pass_request_body_off_the_body_is_read_but_not_sent(string target, string framing)
    {
        var body = framing.StartsWith("Transfer", StringComparison.Ordinal) ? "a\r\nname=value\r\n0\r\n\r\n" : "name=value";
        var request = $"POST {target} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n{framing}Connection: close\r\n\r\n{body}";
        var nginx = await RawHttp.SendAsync(site.NginxPort, request);
        var portico = await RawHttp.SendAsync(site.Port, request);

        // CONTENT_LENGTH is still what fastcgi_params sets ($content_length); the script reads an empty body.
        Assert.Equal((200, "POST 10 "), (nginx.Status, nginx.BodyText));
        Assert.Equal((nginx.Status, nginx.BodyText), (portico.Status, portico.BodyText));
    }

    [PhpFpmTheory(NginxProcess.Binary)]
    [InlineData("/accelbody.php")]
    public async Task X_accel_redirect_to_php_sends_the_body_again_with_the_method_made_get(string target)
    {
        var request = $"POST {target} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\nConnection: close\r\n\r\nname=value";
        var nginx = await RawHttp.SendAsync(site.NginxPort, request);
        Assert.Equal((200, "GET 10 name=value"), (nginx.Status, nginx.BodyText));

        // Many times: the first exchange's upload may still be running when the redirect starts the second one,
        // and once shared the body's position with it (the second then sent an empty body, a few times in 100).
        for (var i = 0; i < 100; i++)
        {
            var portico = await RawHttp.SendAsync(site.Port, request);
            Assert.Equal((nginx.Status, nginx.BodyText), (portico.Status, portico.BodyText));
        }
    }

    [PhpFpmTheory(NginxProcess.Binary)]
    [InlineData("/catch/catch-early.php", 502, "")]
    [InlineData("/catch/catch-late.php", 200, "head of the body and its tail")]
    public async Task Fastcgi_catch_stderr_fails_the_response_only_before_its_header_and_adds_no_log_line(string target, int status, string body)
    {
        // nginx checks fastcgi_catch_stderr while it processes the header (ngx_http_fastcgi_process_header): a match
        // there is an invalid header, a 502 with no line of its own; after the header the message is only logged.
        var nginx = await RawHttp.GetAsync(site.NginxPort, target);
        var portico = await RawHttp.GetAsync(site.Port, target);

        Assert.Equal(status, nginx.Status);
        Assert.Equal(nginx.Status, portico.Status);
        if (status == 200)
        {
            Assert.Equal((body, body), (nginx.BodyText, portico.BodyText));
        }

        var phase = status == 200 ? "while reading upstream" : "while reading response header from upstream";
        var line = status == 200 ? "boom after the header" : "boom before the header";
        var log = await site.WaitForErrorLogAsync(line);
        Assert.Contains($"FastCGI sent in stderr: \"PHP message: {line}\" {phase}", log, StringComparison.Ordinal);
        Assert.DoesNotContain("invalid header", log, StringComparison.Ordinal);
    }

    [PhpFpmTheory(NginxProcess.Binary)]
    [InlineData("/ranges/ranges.php", "", 200)]
    [InlineData("/ranges/ranges.php", "Range: bytes=0-4\r\n", 206)]
    [InlineData("/ranges/ranges.php", "Range: bytes=20-\r\n", 206)]
    [InlineData("/ranges/ranges.php", "Range: bytes=-3\r\n", 206)]
    [InlineData("/ranges/ranges.php", "Range: bytes=0-1,5-6\r\n", 200)]
    [InlineData("/ranges/ranges.php", "Range: bytes=30-\r\n", 416)]
    [InlineData("/ranges/ranges.php", "Range: bytes=x\r\n", 416)]
    [InlineData("/ranges/ranges.php", "Range: bytes=2-3\r\nIf-Range: \"v1\"\r\n", 206)]
    [InlineData("/ranges/ranges.php", "Range: bytes=2-3\r\nIf-Range: \"v2\"\r\n", 200)]
    [InlineData("/ranges/ranges.php", "Range: bytes=2-3\r\nIf-Range: Tue, 24 Nov 2026 10:00:00 GMT\r\n", 206)]
    [InlineData("/ranges/ranges.php", "Range: bytes=2-3\r\nIf-Range: Wed, 25 Nov 2026 10:00:00 GMT\r\n", 200)]
    [InlineData("/ranges.php", "Range: bytes=0-4\r\n", 200)]
    public async Task Fastcgi_force_ranges_serves_byte_ranges_of_the_backend_response_as_nginx_does(string target, string headers, int status)
    {
        var request = $"GET {target} HTTP/1.1\r\nHost: localhost\r\n{headers}Connection: close\r\n\r\n";
        var nginx = await RawHttp.SendAsync(site.NginxPort, request);
        var portico = await RawHttp.SendAsync(site.Port, request);

        Assert.Equal(status, nginx.Status);
        Assert.Equal(nginx.Status, portico.Status);
        // The 416 page names the server: "nginx/1.22.1" and "portico/0.1.0" differ by a byte in Content-Length.
        AssertSameHeaders(nginx, portico, status == 416 ? ["Content-Range", "Accept-Ranges", "ETag"] : ["Content-Range", "Accept-Ranges", "Content-Length", "ETag"]);

        if (status != 416)
        {
            Assert.Equal(nginx.BodyText, portico.BodyText);
        }
    }

    [PhpFpmTheory(NginxProcess.Binary)]
    [InlineData("", 200)]
    [InlineData("Range: bytes=0-4\r\n", 206)]
    public async Task Fastcgi_force_ranges_answers_head_with_the_same_headers_and_no_body(string headers, int status)
    {
        var request = $"HEAD /ranges/ranges.php HTTP/1.1\r\nHost: localhost\r\n{headers}Connection: close\r\n\r\n";
        var nginx = await RawHttp.SendAsync(site.NginxPort, request, isHead: true);
        var portico = await RawHttp.SendAsync(site.Port, request, isHead: true);

        Assert.Equal(status, nginx.Status);
        Assert.Equal(nginx.Status, portico.Status);
        AssertSameHeaders(nginx, portico, ["Content-Range", "Accept-Ranges", "Content-Length"]);

        Assert.Equal(("", ""), (nginx.BodyText, portico.BodyText));
    }

    private static void AssertSameHeaders(RawResponse nginx, RawResponse portico, string[] names)
    {
        foreach (var name in names)
        {
            Assert.True(nginx.Header(name) == portico.Header(name), $"{name}: nginx \"{nginx.Header(name)}\", portico \"{portico.Header(name)}\"");
        }
    }

    [PhpFpmFact(NginxProcess.Binary)]
    public async Task Set_keeps_the_path_info_try_files_resets_on_both_servers()
    {
        foreach (var port in new[] { site.NginxPort, site.Port })
        {
            Assert.Equal("/a/b", Vars(await RawHttp.GetAsync(port, "/deb/server.php/a/b"))["PATH_INFO"]);
            Assert.Equal("/a/b", Vars(await RawHttp.GetAsync(port, "/server.php/a/b"))["PATH_INFO"]);
            Assert.Equal("", Vars(await RawHttp.GetAsync(port, "/safe/server.php/a/b"))["PATH_INFO"]);
        }
    }

    private static Dictionary<string, string> Vars(RawResponse response)
    {
        Assert.Equal(200, response.Status);
        var server = JsonDocument.Parse(response.Body).RootElement.GetProperty("server");
        return server.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ToString());
    }
}
