namespace Portico.FunctionalTests;

public sealed class ReturnTests
{
    private const string Config = """
        http {
            access_log off;
            default_type text/plain;
            server {
                listen 127.0.0.1:{port};
                server_name localhost;
                location = /text { return 200 "uri=$uri args=$args host=$host request_uri=$request_uri scheme=$scheme"; }
                location = /moved { return 301 /new$is_args$args; }
                location = /absolute { return 302 https://example.com/x; }
                location = /bare { return https://example.com/bare; }
                location = /gone { return 410; }
                location = /teapot { return 418 "short and stout"; }
                location = /drop { return 444; }
                location = /nocontent { return 204; }
            }
        }
        """;

    [Fact]
    public async Task Return_text_evaluates_variables()
    {
        await using var server = await PorticoServer.StartAsync(Config);
        var response = await server.GetAsync("/text?a=1&b=2", "LocalHost:1234");
        Assert.Equal(200, response.Status);
        Assert.Equal("text/plain", response.Header("Content-Type"));
        Assert.Equal("uri=/text args=a=1&b=2 host=localhost request_uri=/text?a=1&b=2 scheme=http", response.BodyText);
    }

    [Fact]
    public async Task Return_relative_redirect_becomes_absolute_with_host_and_port()
    {
        await using var server = await PorticoServer.StartAsync(Config);
        var response = await server.GetAsync("/moved?x=1");
        Assert.Equal(301, response.Status);
        Assert.Equal("HTTP/1.1 301 Moved Permanently", response.StatusLine);
        Assert.Equal($"http://localhost:{server.Port}/new?x=1", response.Header("Location"));
        Assert.Contains("<title>301 Moved Permanently</title>", response.BodyText);
        Assert.Equal("text/html", response.Header("Content-Type"));
    }

    [Fact]
    public async Task Return_url_alone_is_302()
    {
        await using var server = await PorticoServer.StartAsync(Config);
        var response = await server.GetAsync("/bare");
        Assert.Equal("HTTP/1.1 302 Moved Temporarily", response.StatusLine);
        Assert.Equal("https://example.com/bare", response.Header("Location"));
        Assert.Contains("<title>302 Found</title>", response.BodyText);
    }

    [Fact]
    public async Task Return_code_without_text_sends_builtin_page()
    {
        await using var server = await PorticoServer.StartAsync(Config);
        var response = await server.GetAsync("/gone");
        Assert.Equal(410, response.Status);
        Assert.Equal(
            "<html>\r\n<head><title>410 Gone</title></head>\r\n<body>\r\n<center><h1>410 Gone</h1></center>\r\n<hr><center>portico/0.1.0</center>\r\n</body>\r\n</html>\r\n",
            response.BodyText);
        Assert.Equal("portico/0.1.0", response.Header("Server"));
    }

    [Fact]
    public async Task Return_other_code_with_text()
    {
        await using var server = await PorticoServer.StartAsync(Config);
        var response = await server.GetAsync("/teapot");
        Assert.Equal(418, response.Status);
        Assert.Equal("short and stout", response.BodyText);
    }

    [Fact]
    public async Task Return_444_closes_without_response()
    {
        await using var server = await PorticoServer.StartAsync(Config);
        await Assert.ThrowsAnyAsync<IOException>(() => server.GetAsync("/drop"));
    }

    [Fact]
    public async Task Return_204_has_no_body()
    {
        await using var server = await PorticoServer.StartAsync(Config);
        var response = await server.GetAsync("/nocontent");
        Assert.Equal(204, response.Status);
        Assert.Empty(response.Body);
    }
}
