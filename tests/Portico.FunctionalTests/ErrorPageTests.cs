namespace Portico.FunctionalTests;

public sealed class ErrorPageTests
{
    private const string Config = """
        http {
            access_log off;
            include mime.types;
            server {
                listen 127.0.0.1:{port};
                server_name localhost;
                root {root};
                error_page 404 /errors/404.html;
                error_page 500 502 =200 /errors/ok.html;
                error_page 403 @forbidden;
                error_page 410 https://example.com/gone;
                location /errors/ { internal; }
                location @forbidden { return 200 "custom forbidden for $uri"; }
                location /boom { return 500; }
                location /gone { return 410; }
                location /locked/ { }
                location /own/ {
                    error_page 404 = /errors/ok.html;
                }
                location /plain/ { error_page 404 /nowhere.html; }
            }
        }
        """;

    private static void Files(TempDir dir)
    {
        dir.Write("errors/404.html", "custom not found");
        dir.Write("errors/ok.html", "all good");
        dir.Mkdir("locked");
    }

    [Fact]
    public async Task Error_page_uri_keeps_original_status()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.GetAsync("/missing");
        Assert.Equal(404, response.Status);
        Assert.Equal("custom not found", response.BodyText);
        Assert.Equal("text/html", response.Header("Content-Type"));
    }

    [Fact]
    public async Task Error_page_with_equals_code_overrides_status()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.GetAsync("/boom");
        Assert.Equal(200, response.Status);
        Assert.Equal("all good", response.BodyText);
    }

    [Fact]
    public async Task Error_page_bare_equals_takes_status_of_target()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.GetAsync("/own/missing");
        Assert.Equal(200, response.Status);
        Assert.Equal("all good", response.BodyText);
    }

    [Fact]
    public async Task Error_page_named_location()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.GetAsync("/locked/");
        Assert.Equal(403, response.Status);
        Assert.Equal("custom forbidden for /locked/", response.BodyText);
    }

    [Fact]
    public async Task Error_page_url_redirects_with_302()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.GetAsync("/gone");
        Assert.Equal(302, response.Status);
        Assert.Equal("https://example.com/gone", response.Header("Location"));
    }

    [Fact]
    public async Task Error_page_target_missing_gives_builtin_page_with_original_code()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.GetAsync("/plain/x");
        Assert.Equal(404, response.Status);
        Assert.Contains("<title>404 Not Found</title>", response.BodyText);
    }

    [Fact]
    public async Task Error_page_for_post_serves_page_with_get()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.SendAsync("POST /missing HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        Assert.Equal(404, response.Status);
        Assert.Equal("custom not found", response.BodyText);
    }
}
