using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Portico.FastCgi.Client;
using Portico.FastCgi.Tests.Infrastructure;

namespace Portico.FastCgi.Tests.PhpFpm;

public sealed class PhpFpmClientTests : IClassFixture<PhpFpmFixture>
{
    private readonly PhpFpmFixture _fixture;

    public PhpFpmClientTests(PhpFpmFixture fixture) => _fixture = fixture;

    private PhpFpmProcess Fpm => _fixture.Fpm;

    private FastCgiRequest Script(string script, string method = "GET", string query = "", long contentLength = 0, string contentType = "")
    {
        var request = new FastCgiRequest()
            .Add("SCRIPT_FILENAME", Path.Combine(Fpm.DocumentRoot, script))
            .Add("SCRIPT_NAME", "/" + script)
            .Add("REQUEST_METHOD", method)
            .Add("QUERY_STRING", query)
            .Add("REQUEST_URI", "/" + script + (query.Length > 0 ? "?" + query : ""))
            .Add("DOCUMENT_ROOT", Fpm.DocumentRoot)
            .Add("SERVER_PROTOCOL", "HTTP/1.1")
            .Add("GATEWAY_INTERFACE", "CGI/1.1")
            .Add("REDIRECT_STATUS", "200");
        if (contentLength > 0)
        {
            request.Add("CONTENT_LENGTH", contentLength.ToString(CultureInfo.InvariantCulture)).Add("CONTENT_TYPE", contentType);
        }

        return request;
    }

    private static async Task<(FastCgiResponse Response, string Body)> SendAsync(FastCgiClient client, FastCgiRequest request)
    {
        var response = await client.SendAsync(request, Serve.TestTimeout());
        var body = await Serve.ReadBodyAsync(response, Serve.TestTimeout());
        await response.DisposeAsync();
        return (response, body);
    }

    [PhpFpmFact]
    public async Task Hello_world_over_tcp()
    {
        await using var client = new FastCgiClient(Fpm.Tcp);
        var (response, body) = await SendAsync(client, Script("hello-world.php"));
        Assert.Equal(200, response.StatusCode);
        Assert.Equal("Hello, world", body);
        Assert.StartsWith("text/html", response.GetHeader("Content-Type"), StringComparison.Ordinal);
        Assert.Equal(0, response.EndRequest?.AppStatus);
    }

    [PhpFpmFact]
    public async Task Hello_world_over_unix_socket()
    {
        await using var client = new FastCgiClient(Fpm.Unix);
        var (response, body) = await SendAsync(client, Script("hello-world.php"));
        Assert.Equal(200, response.StatusCode);
        Assert.Equal("Hello, world", body);
    }

    [PhpFpmFact]
    public async Task Get_with_query_string_reaches_get_superglobal()
    {
        await using var client = new FastCgiClient(Fpm.Tcp);
        var (_, body) = await SendAsync(client, Script("query.php", query: "a=1&b=h%C3%A9"));
        Assert.Equal("a=1&b=h%C3%A9|1|hé", body);
    }

    [PhpFpmFact]
    public async Task Post_body_reaches_php_input()
    {
        await using var client = new FastCgiClient(Fpm.Tcp);
        var payload = "name=value&x=y"u8.ToArray();
        var request = Script("post.php", "POST", contentLength: payload.Length, contentType: "text/plain");
        request.Body = new MemoryStream(payload);
        var (_, body) = await SendAsync(client, request);
        Assert.Equal($"POST {payload.Length} {Convert.ToHexStringLower(SHA256.HashData(payload))}", body);
    }

    [PhpFpmFact]
    public async Task Ten_megabyte_upload_arrives_intact()
    {
        await using var client = new FastCgiClient(Fpm.Tcp);
        var payload = new byte[10 * 1024 * 1024];
        new Random(10).NextBytes(payload);
        var request = Script("post.php", "PUT", contentLength: payload.Length, contentType: "application/octet-stream");
        request.Body = new MemoryStream(payload);
        var (_, body) = await SendAsync(client, request);
        Assert.Equal($"PUT {payload.Length} {Convert.ToHexStringLower(SHA256.HashData(payload))}", body);
    }

    [PhpFpmFact]
    public async Task Cookies_and_request_headers_are_visible_in_server_superglobal()
    {
        await using var client = new FastCgiClient(Fpm.Tcp);
        var request = Script("server.php").Add("HTTP_COOKIE", "session=abc; theme=dark").Add("HTTP_X_REQUEST_ID", "42");
        var (_, body) = await SendAsync(client, request);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("abc", json.RootElement.GetProperty("cookies").GetProperty("session").GetString());
        Assert.Equal("dark", json.RootElement.GetProperty("cookies").GetProperty("theme").GetString());
        Assert.Equal("42", json.RootElement.GetProperty("server").GetProperty("HTTP_X_REQUEST_ID").GetString());
    }

    [PhpFpmFact]
    public async Task Large_params_spanning_several_records_reach_php()
    {
        await using var client = new FastCgiClient(Fpm.Tcp);
        var request = Script("server.php");
        for (var i = 0; i < 20; i++)
        {
            request.Add($"HTTP_X_BIG_{i}", new string((char)('a' + i), 8000));
        }

        var (_, body) = await SendAsync(client, request);
        using var json = JsonDocument.Parse(body);
        var server = json.RootElement.GetProperty("server");
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(new string((char)('a' + i), 8000), server.GetProperty($"HTTP_X_BIG_{i}").GetString());
        }
    }

    [PhpFpmFact]
    public async Task Response_status_and_repeated_headers_come_out()
    {
        await using var client = new FastCgiClient(Fpm.Tcp);
        var (response, body) = await SendAsync(client, Script("status.php"));
        Assert.Equal(418, response.StatusCode);
        Assert.Equal("teapot", body);
        Assert.Equal("yes", response.GetHeader("X-Custom"));
        Assert.Equal(["a=1", "b=2"], response.Headers.Where(h => h.Key == "Set-Cookie").Select(h => h.Value));
        Assert.DoesNotContain(response.Headers, h => h.Key.Equals("Status", StringComparison.OrdinalIgnoreCase));

        var (notFound, _) = await SendAsync(client, Script("notfound.php"));
        Assert.Equal(404, notFound.StatusCode);
        Assert.Equal("Not Found", notFound.ReasonPhrase);
    }

    [PhpFpmFact]
    public async Task Location_header_gives_a_redirect_status()
    {
        await using var client = new FastCgiClient(Fpm.Tcp);
        var (response, _) = await SendAsync(client, Script("redirect.php"));
        Assert.Equal(302, response.StatusCode);
        Assert.Equal("/elsewhere", response.GetHeader("Location"));
    }

    [PhpFpmFact]
    public async Task Missing_script_is_php_fpm_404_with_stderr_message()
    {
        await using var client = new FastCgiClient(Fpm.Tcp);
        var lines = new List<string>();
        var request = Script("does-not-exist.php");
        request.StderrLine = lines.Add;
        var (response, body) = await SendAsync(client, request);
        Assert.Equal(404, response.StatusCode);
        Assert.Contains("File not found", body, StringComparison.Ordinal);
        Assert.Contains(lines, l => l.Contains("Primary script unknown", StringComparison.Ordinal));
    }

    [PhpFpmFact]
    public async Task Path_info_param_reaches_php()
    {
        await using var client = new FastCgiClient(Fpm.Tcp);
        var request = Script("server.php").Add("PATH_INFO", "/extra/path");
        var (_, body) = await SendAsync(client, request);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("/extra/path", json.RootElement.GetProperty("server").GetProperty("PATH_INFO").GetString());
    }

    [PhpFpmFact]
    public async Task Output_over_one_megabyte_is_streamed_intact()
    {
        await using var client = new FastCgiClient(Fpm.Tcp);
        await using var response = await client.SendAsync(Script("big.php"), Serve.TestTimeout());
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[8192];
        long total = 0;
        int n;
        while ((n = await response.Body.ReadAsync(buffer, Serve.TestTimeout())) > 0)
        {
            hash.AppendData(buffer, 0, n);
            total += n;
        }

        Assert.True(total > 1_000_000, $"only {total} bytes");
        Assert.Equal(response.GetHeader("X-Length"), total.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(response.GetHeader("X-Sha256"), Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    [PhpFpmFact]
    public async Task Php_error_log_output_is_captured_from_stderr()
    {
        await using var client = new FastCgiClient(Fpm.Tcp);
        var lines = new List<string>();
        var request = Script("stderr-twice.php");
        request.StderrLine = lines.Add;
        var (_, body) = await SendAsync(client, request);
        Assert.Equal("done", body);
        Assert.Contains(lines, l => l.Contains("first message to stderr", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("second message", StringComparison.Ordinal));
    }

    [PhpFpmFact]
    public async Task Keep_conn_reuses_one_connection_and_one_worker()
    {
        await using var client = new FastCgiClient(Fpm.Tcp, new FastCgiClientOptions { KeepConnection = true });
        var pids = new HashSet<string>();
        for (var i = 0; i < 10; i++)
        {
            pids.Add((await SendAsync(client, Script("pid.php"))).Body);
        }

        Assert.Equal(1, client.Pool.ConnectionsOpened);
        Assert.Single(pids);
    }

    [PhpFpmFact]
    public async Task More_concurrent_requests_than_workers_all_finish_slower()
    {
        // 6 requests of 300 ms on 2 workers: php-fpm queues the rest in its listen backlog.
        await using var client = new FastCgiClient(Fpm.Unix);
        var stopwatch = Stopwatch.StartNew();
        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => SendAsync(client, Script("slow.php"))));
        stopwatch.Stop();

        Assert.All(results, r => Assert.Equal(200, r.Response.StatusCode));
        Assert.True(results.Select(r => r.Body).Distinct().Count() <= PhpFpmFixture.Workers);
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromMilliseconds(3 * 300 - 50), $"took only {stopwatch.Elapsed}");
    }
}
