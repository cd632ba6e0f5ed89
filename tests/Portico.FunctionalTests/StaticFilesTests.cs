namespace Portico.FunctionalTests;

public sealed class StaticFilesTests
{
    private const string Config = """
        http {
            access_log off;
            include mime.types;
            default_type application/octet-stream;
            server {
                listen 127.0.0.1:{port};
                server_name localhost;
                root {root}/www;
                index index.html index.htm;
                location /listing/ { autoindex on; }
                location /img/ { alias {root}/images/; }
                location /pics { alias {root}/images/; }
                location ~ ^/photos/(.+\.png)$ { alias {root}/images/$1; }
                location /spa/ { try_files $uri $uri/ /spa/index.html; }
                location /strict/ { try_files $uri =404; }
            }
        }
        """;

    private static void Files(TempDir dir)
    {
        dir.Write("www/index.html", "home");
        dir.Write("www/hello.txt", "hello world");
        dir.Write("www/style.css", "body{}");
        dir.Write("www/sub/index.htm", "sub index");
        dir.Mkdir("www/empty");
        dir.Write("www/listing/a.txt", "a");
        dir.Write("www/spa/index.html", "spa shell");
        dir.Write("www/spa/app.js", "js");
        dir.Write("www/strict/ok.txt", "ok");
        dir.Write("images/logo.png", "PNG");
        dir.Write("secret.txt", "top secret");
    }

    [Fact]
    public async Task Serves_file_with_type_length_and_validators()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.GetAsync("/hello.txt");
        Assert.Equal(200, response.Status);
        Assert.Equal("hello world", response.BodyText);
        Assert.Equal("text/plain", response.Header("Content-Type"));
        Assert.Equal("11", response.Header("Content-Length"));
        Assert.Matches("^\"[0-9a-f]+-b\"$", response.Header("ETag"));
        Assert.NotNull(response.Header("Last-Modified"));
        Assert.Equal("text/css", (await server.GetAsync("/style.css")).Header("Content-Type"));
    }

    [Fact]
    public async Task Head_has_headers_but_no_body()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.GetAsync("/hello.txt", method: "HEAD");
        Assert.Equal(200, response.Status);
        Assert.Equal("11", response.Header("Content-Length"));
        Assert.Empty(response.Body);
    }

    [Fact]
    public async Task Index_is_served_for_directory_uri()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        Assert.Equal("home", (await server.GetAsync("/")).BodyText);
        Assert.Equal("sub index", (await server.GetAsync("/sub/")).BodyText);
    }

    [Fact]
    public async Task Directory_without_slash_redirects_with_args()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.GetAsync("/sub?x=1");
        Assert.Equal(301, response.Status);
        Assert.Equal($"http://localhost:{server.Port}/sub/?x=1", response.Header("Location"));
    }

    [Fact]
    public async Task Directory_without_index_or_autoindex_is_403()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.GetAsync("/empty/");
        Assert.Equal(403, response.Status);
        Assert.Contains("<title>403 Forbidden</title>", response.BodyText);
    }

    [Fact]
    public async Task Missing_file_is_404_and_missing_directory_is_404()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        Assert.Equal(404, (await server.GetAsync("/nope.txt")).Status);
        Assert.Equal(404, (await server.GetAsync("/nodir/")).Status);
        Assert.Equal(404, (await server.GetAsync("/hello.txt/x")).Status);
    }

    [Fact]
    public async Task Autoindex_lists_directory()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.GetAsync("/listing/");
        Assert.Equal(200, response.Status);
        Assert.Contains("<a href=\"a.txt\">a.txt</a>", response.BodyText);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public async Task Other_methods_on_files_get_405_not_allowed(string method)
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.SendAsync($"{method} /hello.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        Assert.Equal("HTTP/1.1 405 Not Allowed", response.StatusLine);
    }

    [Fact]
    public async Task Post_to_missing_file_is_404()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.SendAsync("POST /nope HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        Assert.Equal(404, response.Status);
    }

    [Fact]
    public async Task Alias_maps_prefix_and_regex_captures()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        Assert.Equal("PNG", (await server.GetAsync("/img/logo.png")).BodyText);
        Assert.Equal("image/png", (await server.GetAsync("/img/logo.png")).Header("Content-Type"));
        Assert.Equal("PNG", (await server.GetAsync("/photos/logo.png")).BodyText);
    }

    [Fact]
    public async Task Alias_without_trailing_slash_cannot_be_climbed_out_of()
    {
        // nginx would map /pics../secret.txt to {root}/images/../secret.txt; we never leave the alias.
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.GetAsync("/pics../secret.txt");
        Assert.NotEqual(200, response.Status);
        Assert.DoesNotContain("top secret", response.BodyText);
    }

    [Theory]
    [InlineData("/../secret.txt")]
    [InlineData("/%2e%2e/secret.txt")]
    [InlineData("/sub/../../secret.txt")]
    [InlineData("/%2E%2E%2Fsecret.txt")]
    public async Task Climbing_above_root_is_400(string target)
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.SendAsync($"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        Assert.Equal(400, response.Status);
        Assert.DoesNotContain("top secret", response.BodyText);
    }

    [Theory]
    [InlineData("/sub/../hello.txt")]
    [InlineData("/./hello.txt")]
    [InlineData("//hello.txt")]
    [InlineData("/hel%6co.txt")]
    [InlineData("/sub/%2e%2e/hello.txt")]
    public async Task Uri_is_decoded_and_normalized(string target)
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.SendAsync($"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        Assert.Equal(200, response.Status);
        Assert.Equal("hello world", response.BodyText);
    }

    [Theory]
    [InlineData("/%zz")]
    [InlineData("/a%00b")]
    public async Task Bad_escapes_are_400(string target)
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.SendAsync($"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        Assert.Equal(400, response.Status);
    }

    [Fact]
    public async Task Try_files_serves_existing_file_then_falls_back()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        Assert.Equal("js", (await server.GetAsync("/spa/app.js")).BodyText);
        Assert.Equal("spa shell", (await server.GetAsync("/spa/some/route")).BodyText);
        Assert.Equal("spa shell", (await server.GetAsync("/spa/")).BodyText);
        Assert.Equal("ok", (await server.GetAsync("/strict/ok.txt")).BodyText);
        Assert.Equal(404, (await server.GetAsync("/strict/missing.txt")).Status);
    }

    [Fact]
    public async Task Conditional_get_gives_304_and_range_gives_206()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var first = await server.GetAsync("/hello.txt");
        var etag = first.Header("ETag")!;
        var notModified = await server.GetAsync("/hello.txt", headers: $"If-None-Match: {etag}\r\n");
        Assert.Equal(304, notModified.Status);
        Assert.Equal(etag, notModified.Header("ETag"));
        Assert.Empty(notModified.Body);

        var range = await server.GetAsync("/hello.txt", headers: "Range: bytes=0-4\r\n");
        Assert.Equal(206, range.Status);
        Assert.Equal("hello", range.BodyText);
        Assert.Equal("bytes 0-4/11", range.Header("Content-Range"));
    }
}
