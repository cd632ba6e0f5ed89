using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Portico.EndToEnd.Tests.FastCgi;

/// <summary>The site the php-fpm tests run against (a WordPress-style front controller plus test locations).</summary>
public sealed class PhpFastCgiSite : PhpSite
{
    protected override string Config => """
        http {
            log_format up '$request_uri $status $upstream_addr $upstream_status';
            access_log {root}/portico/access.log up;
            upstream live { server {tcp}; keepalive 2; }
            upstream pinned { server {tcp}; keepalive 3; }
            upstream mixed { server {dead} max_fails=1 fail_timeout=30s; server {tcp}; keepalive 2; }
            server {
                listen 127.0.0.1:{port};
                server_name localhost;
                root {root}/www;
                index index.php index.html;
                client_max_body_size 20m;

                location /protected/ { internal; }
                location /errors/ { internal; }
                location @fallback { return 200 "named fallback for $uri\n"; }

                # WordPress-style front controller.
                location / { try_files $uri $uri/ /index.php?$args; }
                location ~ ^/unix/(.+\.php)$ {
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root/$1;
                    fastcgi_pass {unix};
                }

                location ~ ^/mixed/(.+\.php)$ {
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root/$1;
                    fastcgi_keep_conn on;
                    fastcgi_pass mixed;
                }

                location ~ ^/split/.+\.php(/|$) {
                    fastcgi_split_path_info ^/split(/.+?\.php)(/.*)$;
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
                    fastcgi_param PATH_INFO $fastcgi_path_info;
                    fastcgi_pass {tcp};
                }

                location ~ ^/safe/.+\.php(/|$) {
                    fastcgi_split_path_info ^/safe(/.+?\.php)(/.*)$;
                    try_files $fastcgi_script_name =404;
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
                    fastcgi_pass {tcp};
                }

                location ~ ^/intercept/(.+\.php)$ {
                    fastcgi_intercept_errors on;
                    error_page 404 /errors/404.html;
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root/$1;
                    fastcgi_pass {tcp};
                }

                location ~ ^/pinned/(.+\.php)$ {
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root/$1;
                    fastcgi_keep_conn on;
                    fastcgi_pass pinned;
                }

                location ~ ^/small/(.+\.php)$ {
                    client_max_body_size 1k;
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root/$1;
                    fastcgi_pass {tcp};
                }

                location ~ ^/custom/(.+\.php)$ {
                    fastcgi_param SCRIPT_FILENAME $document_root/$1;
                    fastcgi_param REQUEST_METHOD $request_method;
                    fastcgi_param APP_ENV "test-$host";
                    fastcgi_param EMPTY_SKIPPED $arg_none if_not_empty;
                    fastcgi_param EMPTY_KEPT $arg_none;
                    fastcgi_param CONSTANT_EMPTY_SKIPPED "" if_not_empty;
                    fastcgi_param HTTP_X_OVERRIDE "from-config";
                    fastcgi_hide_header X-Powered;
                    fastcgi_pass {tcp};
                }

                # Last: regex locations match in order.
                location ~ \.php$ {
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
                    fastcgi_keep_conn on;
                    fastcgi_pass live;
                }
            }
        }
        """;
}

public sealed class PhpFastCgiTests(PhpFastCgiSite site) : IClassFixture<PhpFastCgiSite>
{
    private static readonly HttpClient s_http = new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };

    private string Url(string path) => $"http://127.0.0.1:{site.Port}{path}";

    private Task<RawResponse> GetAsync(string target, string extraHeaders = "") => RawHttp.GetAsync(site.Port, target, extraHeaders: extraHeaders);

    private async Task<JsonElement> ServerVarsAsync(string target, string extraHeaders = "")
    {
        var response = await GetAsync(target, extraHeaders);
        Assert.Equal(200, response.Status);
        return JsonDocument.Parse(response.Body).RootElement;
    }

    [PhpFpmFact]
    public async Task Get_runs_the_script_and_passes_its_headers()
    {
        var response = await GetAsync("/hello.php");

        Assert.Equal(200, response.Status);
        Assert.Equal("Hello from PHP\n", response.BodyText);
        Assert.Equal("php", response.Header("X-Powered"));
        Assert.StartsWith("text/html", response.Header("Content-Type"));
        Assert.Equal("chunked", response.Header("Transfer-Encoding"));
    }

    [PhpFpmFact]
    public async Task Query_string_reaches_php()
    {
        var response = await GetAsync("/query.php?a=1&b=two%20words");

        Assert.Equal("a=1&b=two%20words|1|two words", response.BodyText);
    }

    [PhpFpmFact]
    public async Task Fastcgi_params_set_the_cgi_environment()
    {
        var server = (await ServerVarsAsync("/server.php?x=1")).GetProperty("server");

        Assert.Equal("GET", server.GetProperty("REQUEST_METHOD").GetString());
        Assert.Equal("/server.php", server.GetProperty("SCRIPT_NAME").GetString());
        Assert.Equal(Path.Combine(site.Root, "www") + "/server.php", server.GetProperty("SCRIPT_FILENAME").GetString());
        Assert.Equal("/server.php?x=1", server.GetProperty("REQUEST_URI").GetString());
        Assert.Equal("x=1", server.GetProperty("QUERY_STRING").GetString());
        Assert.Equal("localhost", server.GetProperty("SERVER_NAME").GetString());
        Assert.Equal(site.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), server.GetProperty("SERVER_PORT").GetString());
        Assert.Equal("127.0.0.1", server.GetProperty("REMOTE_ADDR").GetString());
        Assert.Equal("HTTP/1.1", server.GetProperty("SERVER_PROTOCOL").GetString());
        Assert.Equal("200", server.GetProperty("REDIRECT_STATUS").GetString());
        Assert.StartsWith("nginx/", server.GetProperty("SERVER_SOFTWARE").GetString());
        Assert.False(server.TryGetProperty("HTTPS", out _)); // $https if_not_empty
    }

    [PhpFpmFact]
    public async Task Only_configured_params_are_sent_with_if_not_empty_and_explicit_http_params()
    {
        var server = (await ServerVarsAsync("/custom/server.php", "X-Override: from-client\r\nX-Other: o\r\n")).GetProperty("server");

        Assert.Equal("test-localhost", server.GetProperty("APP_ENV").GetString());
        Assert.False(server.TryGetProperty("EMPTY_SKIPPED", out _));
        Assert.False(server.TryGetProperty("CONSTANT_EMPTY_SKIPPED", out _)); // nginx tests the value, constant or not
        Assert.Equal("", server.GetProperty("EMPTY_KEPT").GetString());
        Assert.False(server.TryGetProperty("QUERY_STRING", out _)); // not configured here, so not sent
        Assert.False(server.TryGetProperty("SCRIPT_NAME", out _));
        Assert.Equal("from-config", server.GetProperty("HTTP_X_OVERRIDE").GetString());
        Assert.Equal("o", server.GetProperty("HTTP_X_OTHER").GetString());
    }

    [PhpFpmFact]
    public async Task Request_headers_become_http_params_and_underscored_names_are_dropped()
    {
        var server = (await ServerVarsAsync("/server.php", "X-Forwarded-For: 10.0.0.1\r\nX_Forwarded_For: spoofed\r\nAccept-Language: de\r\n")).GetProperty("server");

        Assert.Equal("10.0.0.1", server.GetProperty("HTTP_X_FORWARDED_FOR").GetString());
        Assert.Equal("de", server.GetProperty("HTTP_ACCEPT_LANGUAGE").GetString());
        Assert.Equal("localhost", server.GetProperty("HTTP_HOST").GetString());
    }

    [PhpFpmFact]
    public async Task Cookies_reach_php_and_set_cookie_headers_all_come_back()
    {
        var vars = await ServerVarsAsync("/server.php", "Cookie: a=1; b=two\r\n");
        Assert.Equal("1", vars.GetProperty("cookies").GetProperty("a").GetString());
        Assert.Equal("two", vars.GetProperty("cookies").GetProperty("b").GetString());

        var response = await GetAsync("/status.php");
        Assert.Equal(418, response.Status);
        Assert.Equal("yes", response.Header("X-Custom"));
        Assert.Equal(["a=1", "b=2"], response.HeaderValues("Set-Cookie").ToArray());
        Assert.Equal("teapot", response.BodyText);
    }

    [PhpFpmFact]
    public async Task Location_without_status_is_a_302_and_status_header_is_hidden()
    {
        var redirect = await GetAsync("/redirect.php");
        Assert.Equal(302, redirect.Status);
        // As nginx: a relative Location from the backend is passed as sent (no absolute_redirect).
        Assert.Equal("/elsewhere", redirect.Header("Location"));

        var notFound = await GetAsync("/notfound.php");
        Assert.Equal(404, notFound.Status);
        Assert.Null(notFound.Header("Status"));
        Assert.Equal("php 404 body", notFound.BodyText);
    }

    [PhpFpmFact]
    public async Task Post_form_is_parsed_by_php()
    {
        using var content = new FormUrlEncodedContent([new("name", "Zoë & co"), new("n", "42")]);
        using var response = await s_http.PostAsync(Url("/form.php"), content);

        Assert.Equal("POST name=Zoë & co n=42", await response.Content.ReadAsStringAsync());
    }

    [PhpFpmFact]
    public async Task Upload_of_10_MB_arrives_intact()
    {
        var data = RandomNumberGenerator.GetBytes(10 * 1024 * 1024);
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(data);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "file", "big.bin");
        using var response = await s_http.PostAsync(Url("/upload.php"), form);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"0 {data.Length} {Convert.ToHexStringLower(SHA256.HashData(data))}", await response.Content.ReadAsStringAsync());
    }

    [PhpFpmFact]
    public async Task Chunked_body_of_10_MB_is_buffered_so_content_length_is_right()
    {
        var data = RandomNumberGenerator.GetBytes(10 * 1024 * 1024 + 7);
        using var content = new StreamContent(new NonSeekableStream(data));
        using var request = new HttpRequestMessage(HttpMethod.Put, Url("/post-length.php")) { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await s_http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"PUT {data.Length} {data.Length} {Convert.ToHexStringLower(SHA256.HashData(data))}", await response.Content.ReadAsStringAsync());
    }

    [PhpFpmFact]
    public async Task Chunked_body_over_client_max_body_size_is_413()
    {
        var response = await RawHttp.SendAsync(site.Port, "POST /small/post.php HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n800\r\n" + new string('a', 0x800) + "\r\n0\r\n\r\n");

        Assert.Equal(413, response.Status);
        Assert.Contains("client intended to send too large chunked body", await site.WaitForErrorLogAsync("too large chunked body"));
    }

    [PhpFpmFact]
    public async Task Large_output_is_streamed_intact()
    {
        using var response = await s_http.GetAsync(Url("/big.php"), HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(body.Length > 1_000_000);
        Assert.Equal(response.Headers.GetValues("X-Length").Single(), body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(response.Headers.GetValues("X-Sha256").Single(), Convert.ToHexStringLower(SHA256.HashData(body)));
    }

    [PhpFpmFact]
    public async Task Unbuffered_output_reaches_the_client_before_the_script_ends()
    {
        using var response = await s_http.GetAsync(Url("/stream.php"), HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[64];
        var started = DateTime.UtcNow;
        var read = await body.ReadAsync(buffer);

        Assert.Equal("first\n", Encoding.ASCII.GetString(buffer, 0, read));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(1.2), "the first part waited for the end of the script");
        Assert.Null(response.Headers.Contains("X-Accel-Buffering") ? "present" : null);
    }

    [PhpFpmFact]
    public async Task Split_path_info_gives_script_name_and_path_info()
    {
        var response = await GetAsync("/split/pathinfo.php/some/extra?x=1");

        Assert.Equal("script=/pathinfo.php info=/some/extra file=pathinfo.php", response.BodyText);
    }

    [PhpFpmFact]
    public async Task Newline_in_path_info_does_not_break_anything_cve_2019_11043()
    {
        // The split regex does not match across %0A, so PATH_INFO is empty (as in nginx) ...
        var unguarded = await GetAsync("/split/pathinfo.php/a%0Ab");
        Assert.True(unguarded.Status is 200 or 404, unguarded.ToString());

        // ... and try_files $fastcgi_script_name refuses the request before php-fpm sees it.
        var guarded = await GetAsync("/safe/pathinfo.php/a%0Ab");
        Assert.Equal(404, guarded.Status);

        // php-fpm is still fine.
        Assert.Equal(200, (await GetAsync("/hello.php")).Status);
    }

    [PhpFpmFact]
    public async Task Front_controller_serves_pretty_urls_static_files_and_query_args()
    {
        var pretty = await GetAsync("/2024/01/hello-world/");
        Assert.Equal(200, pretty.Status);
        Assert.Equal("front controller uri=/2024/01/hello-world/ p= script=/index.php", pretty.BodyText);

        var query = await GetAsync("/?p=1");
        Assert.Equal("front controller uri=/?p=1 p=1 script=/index.php", query.BodyText);

        var staticFile = await GetAsync("/wp/style.css");
        Assert.Equal(200, staticFile.Status);
        Assert.Equal("body { color: blue }\n", staticFile.BodyText);

        var source = await GetAsync("/protected/secret.txt");
        Assert.Equal(404, source.Status); // internal location: not reachable from outside
    }

    [PhpFpmFact]
    public async Task Unix_socket_backend_works()
    {
        var response = await GetAsync("/unix/hello.php");

        Assert.Equal(200, response.Status);
        Assert.Equal("Hello from PHP\n", response.BodyText);
    }

    [PhpFpmFact]
    public async Task Upstream_with_a_dead_server_skips_it()
    {
        for (var i = 0; i < 6; i++)
        {
            var response = await GetAsync("/mixed/hello.php?i=" + i);
            Assert.Equal(200, response.Status);
            Assert.Equal("Hello from PHP\n", response.BodyText);
        }

        var log = await site.WaitForErrorLogAsync("connect() failed (111: Connection refused) while connecting to upstream");
        Assert.Contains($"upstream: \"fastcgi://127.0.0.1:{site.DeadPort}\"", log);

        // Only the first request tried the dead server (max_fails=1, fail_timeout=30s); it went on to the live one.
        await Task.Delay(300);
        var access = File.ReadAllLines(site.AccessLogPath).Where(l => l.StartsWith("/mixed/", StringComparison.Ordinal)).ToList();
        Assert.Equal(6, access.Count);
        Assert.Single(access, l => l.Contains($"127.0.0.1:{site.DeadPort}, {site.Fpm!.Tcp} 502, 200", StringComparison.Ordinal));
    }

    [PhpFpmFact]
    public async Task More_concurrent_requests_than_workers_all_complete()
    {
        // 3 php-fpm workers, keepalive 2: 15 concurrent slow requests queue at php-fpm and all finish.
        var tasks = Enumerable.Range(0, 15).Select(i => GetAsync("/slow.php?i=" + i)).ToArray();
        var responses = await Task.WhenAll(tasks);

        Assert.All(responses, r => Assert.Equal(200, r.Status));
        Assert.All(responses, r => Assert.StartsWith("slow ", r.BodyText));
        Assert.Equal(200, (await GetAsync("/hello.php")).Status);
    }

    [PhpFpmFact]
    public async Task Keepalive_as_large_as_the_worker_count_does_not_starve_queued_connections()
    {
        // keepalive 3 with 3 workers: every idle kept connection pins a worker, so connections opened under
        // load wait in php-fpm's queue; the pool must free workers for them instead of circulating its own.
        for (var round = 0; round < 3; round++)
        {
            var started = DateTime.UtcNow;
            var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => GetAsync($"/pinned/slow.php?r={round}&i={i}")));

            Assert.All(responses, r => Assert.Equal(200, r.Status));
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(8), "queued requests starved");
        }
    }

    [PhpFpmFact]
    public async Task X_accel_redirect_goes_to_an_internal_uri_or_named_location()
    {
        var file = await GetAsync("/accel.php");
        Assert.Equal(200, file.Status);
        Assert.Equal("secret file\n", file.BodyText);
        Assert.Equal("seen=1", file.Header("Set-Cookie"));
        Assert.Null(file.Header("X-Accel-Redirect"));

        var named = await GetAsync("/accelnamed.php");
        Assert.Equal(200, named.Status);
        Assert.Equal("named fallback for /accelnamed.php\n", named.BodyText);
    }

    [PhpFpmFact]
    public async Task X_accel_redirect_to_another_php_script_passes_the_body_read_once()
    {
        // The body was read for the first script; the redirected request (a GET now, as nginx makes it) sends it again.
        using var content = new StringContent("name=value", System.Text.Encoding.ASCII, "application/x-www-form-urlencoded");
        using var response = await s_http.PostAsync(Url("/accelbody.php"), content);

        Assert.Equal("GET 10 name=value", await response.Content.ReadAsStringAsync());
    }

    [PhpFpmFact]
    public async Task Intercept_errors_uses_error_page_only_for_codes_that_have_one()
    {
        var intercepted = await GetAsync("/intercept/notfound.php");
        Assert.Equal(404, intercepted.Status);
        Assert.Equal("custom not found page\n", intercepted.BodyText);

        var passed = await GetAsync("/intercept/status.php");
        Assert.Equal(418, passed.Status);
        Assert.Equal("teapot", passed.BodyText);
    }

    [PhpFpmFact]
    public async Task Hide_header_removes_a_backend_header()
    {
        var response = await GetAsync("/custom/hello.php");

        Assert.Equal(200, response.Status);
        Assert.Null(response.Header("X-Powered"));
    }

    [PhpFpmFact]
    public async Task Backend_stderr_goes_to_the_error_log_with_nginx_wording()
    {
        var response = await GetAsync("/stderr.php");
        Assert.Equal("done", response.BodyText);

        var log = await site.WaitForErrorLogAsync("message to stderr");
        Assert.Matches(
            $"\\[error\\] .*FastCGI sent in stderr: \"PHP message: message to stderr\" while reading response header from upstream, client: 127\\.0\\.0\\.1, server: localhost, request: \"GET /stderr\\.php HTTP/1\\.1\", upstream: \"fastcgi://127\\.0\\.0\\.1:{site.Fpm!.Port}\", host: \"localhost\"",
            log);
    }

    [PhpFpmFact]
    public async Task Head_request_gets_headers_without_body()
    {
        var response = await RawHttp.GetAsync(site.Port, "/hello.php", method: "HEAD");

        Assert.Equal(200, response.Status);
        Assert.Empty(response.Body);
    }

    [PhpFpmFact]
    public async Task Non_ascii_header_value_does_not_break_the_response()
    {
        var response = await GetAsync("/utf8header.php");

        Assert.Equal(200, response.Status);
        Assert.Equal("ok", response.Header("X-Plain"));
        Assert.Equal("body ok", response.BodyText);
    }

    /// <summary>A stream without a length, so HttpClient sends it chunked.</summary>
    private sealed class NonSeekableStream(byte[] data) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(count, Math.Min(50_000, data.Length - _position));
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
