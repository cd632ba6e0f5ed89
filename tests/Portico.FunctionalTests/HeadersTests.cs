namespace Portico.FunctionalTests;

public sealed class HeadersTests
{
    private const string Config = """
        http {
            access_log off;
            server {
                listen 127.0.0.1:{port};
                root {root};
                add_header X-Server-Level yes;
                location /added/ {
                    add_header X-Frame-Options DENY;
                    add_header X-Uri $uri always;
                }
                location /inherit/ { }
                location /cache/ { expires 1h; }
                location /nocache/ { expires epoch; }
                location /max/ { expires max; }
                location /tokens/ { server_tokens off; }
                location /noetag/ { etag off; }
            }
        }
        """;

    private static void Files(TempDir dir)
    {
        foreach (var d in new[] { "added", "inherit", "cache", "nocache", "max", "tokens", "noetag" })
        {
            dir.Write($"{d}/f.txt", d);
        }
    }

    [Fact]
    public async Task Add_header_replaces_inherited_list_and_skips_errors_without_always()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var ok = await server.GetAsync("/added/f.txt");
        Assert.Equal("DENY", ok.Header("X-Frame-Options"));
        Assert.Equal("/added/f.txt", ok.Header("X-Uri"));
        Assert.Null(ok.Header("X-Server-Level"));

        var missing = await server.GetAsync("/added/none");
        Assert.Equal(404, missing.Status);
        Assert.Null(missing.Header("X-Frame-Options"));
        Assert.Equal("/added/none", missing.Header("X-Uri"));

        Assert.Equal("yes", (await server.GetAsync("/inherit/f.txt")).Header("X-Server-Level"));
    }

    [Fact]
    public async Task Expires_sets_expires_and_cache_control()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        var response = await server.GetAsync("/cache/f.txt");
        Assert.Equal("max-age=3600", response.Header("Cache-Control"));
        var expires = DateTimeOffset.Parse(response.Header("Expires")!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61));

        var epoch = await server.GetAsync("/nocache/f.txt");
        Assert.Equal("Thu, 01 Jan 1970 00:00:01 GMT", epoch.Header("Expires"));
        Assert.Equal("no-cache", epoch.Header("Cache-Control"));

        var max = await server.GetAsync("/max/f.txt");
        Assert.Equal("Thu, 31 Dec 2037 23:55:55 GMT", max.Header("Expires"));
        Assert.Equal("max-age=315360000", max.Header("Cache-Control"));
    }

    [Fact]
    public async Task Server_tokens_off_hides_version()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        Assert.Equal("portico/0.1.0", (await server.GetAsync("/inherit/f.txt")).Header("Server"));
        var off = await server.GetAsync("/tokens/none");
        Assert.Equal("portico", off.Header("Server"));
        Assert.Contains("<hr><center>portico</center>", off.BodyText);
    }

    [Fact]
    public async Task Etag_off_omits_etag()
    {
        await using var server = await PorticoServer.StartAsync(Config, Files);
        Assert.NotNull((await server.GetAsync("/inherit/f.txt")).Header("ETag"));
        Assert.Null((await server.GetAsync("/noetag/f.txt")).Header("ETag"));
    }
}
