using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Portico.FastCgi.AspNetCore;
using Portico.FastCgi.Client;
using Portico.FastCgi.Tests.Infrastructure;

namespace Portico.FastCgi.Tests.AspNetCore;

public sealed class ForwarderTests : IClassFixture<PhpFpmFixture>
{
    private readonly PhpFpmFixture _fixture;

    public ForwarderTests(PhpFpmFixture fixture) => _fixture = fixture;

    private Task<ForwarderHost> StartPhpAsync() => ForwarderHost.StartAsync(new FastCgiForwarderOptions
    {
        EndPoint = _fixture.Fpm.Tcp,
        DocumentRoot = _fixture.Fpm.DocumentRoot,
    });

    [PhpFpmFact]
    public async Task Forwarded_request_carries_the_standard_cgi_params()
    {
        await using var host = await StartPhpAsync();
        using var message = new HttpRequestMessage(HttpMethod.Get, "/server.php/extra/path?x=1&y=%20z");
        message.Headers.Add("Cookie", "session=abc");
        message.Headers.Add("X-Test", "hello");
        message.Headers.TryAddWithoutValidation("X_Under", "dropped");
        using var response = await host.Http.SendAsync(message, Serve.TestTimeout());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Serve.TestTimeout()));
        var server = json.RootElement.GetProperty("server");
        string Param(string name) => server.GetProperty(name).GetString()!;

        var root = _fixture.Fpm.DocumentRoot;
        Assert.Equal(root + "/server.php", Param("SCRIPT_FILENAME"));
        Assert.Equal("/server.php", Param("SCRIPT_NAME"));
        Assert.Equal("/extra/path", Param("PATH_INFO"));
        Assert.Equal("x=1&y=%20z", Param("QUERY_STRING"));
        Assert.Equal("/server.php/extra/path?x=1&y=%20z", Param("REQUEST_URI"));
        Assert.Equal("/server.php/extra/path", Param("DOCUMENT_URI"));
        Assert.Equal(root, Param("DOCUMENT_ROOT"));
        Assert.Equal("GET", Param("REQUEST_METHOD"));
        Assert.Equal("HTTP/1.1", Param("SERVER_PROTOCOL"));
        Assert.Equal("http", Param("REQUEST_SCHEME"));
        Assert.Equal("CGI/1.1", Param("GATEWAY_INTERFACE"));
        Assert.Equal("Portico", Param("SERVER_SOFTWARE"));
        Assert.Equal("127.0.0.1", Param("REMOTE_ADDR"));
        Assert.Equal("127.0.0.1", Param("SERVER_ADDR"));
        Assert.Equal(host.Address.Port.ToString(CultureInfo.InvariantCulture), Param("SERVER_PORT"));
        Assert.Equal("127.0.0.1", Param("SERVER_NAME"));
        Assert.Equal("200", Param("REDIRECT_STATUS"));
        Assert.Equal("hello", Param("HTTP_X_TEST"));
        Assert.Equal("session=abc", Param("HTTP_COOKIE"));
        Assert.False(server.TryGetProperty("HTTP_X_UNDER", out _));
        Assert.Equal("abc", json.RootElement.GetProperty("cookies").GetProperty("session").GetString());
        Assert.Equal(" z", json.RootElement.GetProperty("get").GetProperty("y").GetString());
    }

    [PhpFpmFact]
    public async Task Chunked_request_body_is_forwarded_with_a_content_length()
    {
        await using var host = await StartPhpAsync();
        var payload = new byte[300_000];
        new Random(3).NextBytes(payload);
        using var content = new StreamContent(new MemoryStream(payload));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var message = new HttpRequestMessage(HttpMethod.Post, "/post.php") { Content = content };
        message.Headers.TransferEncodingChunked = true;
        using var response = await host.Http.SendAsync(message, Serve.TestTimeout());
        Assert.Equal($"POST {payload.Length} {Convert.ToHexStringLower(SHA256.HashData(payload))}", await response.Content.ReadAsStringAsync(Serve.TestTimeout()));
    }

    [PhpFpmTheory]
    [InlineData(true, 1000)]
    [InlineData(true, 200_000)]
    [InlineData(false, 200_000)]
    public async Task Sized_request_body_is_forwarded_buffered_or_streamed(bool buffer, int size)
    {
        await using var host = await ForwarderHost.StartAsync(new FastCgiForwarderOptions
        {
            EndPoint = _fixture.Fpm.Tcp,
            DocumentRoot = _fixture.Fpm.DocumentRoot,
            BufferRequestBody = buffer,
        });
        var payload = new byte[size];
        new Random(size).NextBytes(payload);
        using var content = new ByteArrayContent(payload);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await host.Http.PostAsync("/post.php", content, Serve.TestTimeout());
        Assert.Equal($"POST {payload.Length} {Convert.ToHexStringLower(SHA256.HashData(payload))}", await response.Content.ReadAsStringAsync(Serve.TestTimeout()));
    }

    [PhpFpmFact]
    public async Task Status_and_response_headers_are_copied()
    {
        await using var host = await StartPhpAsync();
        using var response = await host.Http.GetAsync("/status.php", Serve.TestTimeout());
        Assert.Equal((HttpStatusCode)418, response.StatusCode);
        Assert.Equal("yes", response.Headers.GetValues("X-Custom").Single());
        Assert.Equal(["a=1", "b=2"], response.Headers.GetValues("Set-Cookie"));
        Assert.Equal("teapot", await response.Content.ReadAsStringAsync(Serve.TestTimeout()));
    }

    [PhpFpmFact]
    public async Task Head_request_gets_the_head_without_a_body()
    {
        await using var host = await StartPhpAsync();
        using var message = new HttpRequestMessage(HttpMethod.Head, "/status.php");
        using var response = await host.Http.SendAsync(message, Serve.TestTimeout());
        Assert.Equal((HttpStatusCode)418, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync(Serve.TestTimeout()));

        // The connection is still usable afterwards (no stray body bytes were written).
        Assert.Equal("Hello, world", await host.Http.GetStringAsync("/hello-world.php", Serve.TestTimeout()));
    }

    [Fact]
    public async Task Unreachable_backend_is_502()
    {
        await using var host = await ForwarderHost.StartAsync(new FastCgiForwarderOptions
        {
            EndPoint = FastCgiEndPoint.Unix(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"))),
            DocumentRoot = "/srv",
        });
        using var response = await host.Http.GetAsync("/index.php", Serve.TestTimeout());
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
    }

    [Fact]
    public async Task Backend_read_timeout_is_504()
    {
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => Task.Delay(Timeout.Infinite, c.Stopping)));
        await using var host = await ForwarderHost.StartAsync(new FastCgiForwarderOptions
        {
            EndPoint = server.EndPoint,
            DocumentRoot = "/srv",
            Client = new FastCgiClientOptions { ReadTimeout = TimeSpan.FromMilliseconds(300) },
        });
        using var response = await host.Http.GetAsync("/index.php", Serve.TestTimeout());
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
    }

    [Fact]
    public async Task Backend_failing_mid_body_aborts_the_client_connection()
    {
        // A graceful close (FIN) after part of the body: an RST could discard the head before it is read.
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c =>
            c.SendAsync(Records.Stdout("Content-Length: 100000\r\n\r\n" + new string('x', 1000)))));
        await using var host = await ForwarderHost.StartAsync(new FastCgiForwarderOptions { EndPoint = server.EndPoint, DocumentRoot = "/srv" });

        // The client must never see a short body as complete. The abort is an RST, which may reach the
        // client before or after it read the head, so the whole exchange is what must fail.
        Exception? failure = null;
        try
        {
            using var response = await host.Http.GetAsync("/index.php", HttpCompletionOption.ResponseHeadersRead, Serve.TestTimeout());
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsByteArrayAsync(Serve.TestTimeout());
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            failure = ex;
        }

        Assert.NotNull(failure);
        Assert.Empty(server.HandlerErrors);
    }

    [Fact]
    public async Task Uri_ending_in_slash_gets_the_index_script()
    {
        FakeRequest? seen = null;
        await using var server = new FakeFastCgiServer(Serve.Responding(r =>
        {
            seen = r;
            return Records.Response("Content-Type: text/plain\r\n\r\nok");
        }));
        await using var host = await ForwarderHost.StartAsync(new FastCgiForwarderOptions { EndPoint = server.EndPoint, DocumentRoot = "/srv/www/" });
        Assert.Equal("ok", await host.Http.GetStringAsync("/blog/", Serve.TestTimeout()));
        Assert.Equal("/srv/www/blog/index.php", seen!.Params["SCRIPT_FILENAME"]);
        Assert.Equal("/blog/index.php", seen.Params["SCRIPT_NAME"]);
        Assert.Equal("/blog/", seen.Params["REQUEST_URI"]);
        Assert.Equal("", seen.Params["CONTENT_LENGTH"]);
    }
}
