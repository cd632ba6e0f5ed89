namespace Portico.FunctionalTests;

public sealed class LocationTests
{
    // The example from https://nginx.org/en/docs/http/ngx_http_core_module.html#location
    private const string Config = """
        http {
            access_log off;
            server {
                listen 127.0.0.1:{port};
                location = / { return 200 "A"; }
                location / { return 200 "B"; }
                location /documents/ { return 200 "C"; }
                location ^~ /images/ { return 200 "D"; }
                location ~* \.(gif|jpg|jpeg)$ { return 200 "E"; }
                location /nested/ {
                    location ~ \.txt$ { return 200 "nested-regex"; }
                    location /nested/deeper/ { return 200 "nested-prefix"; }
                    return 200 "nested-outer";
                }
                location ~ ^/cap/(?<name>[a-z]+)/(\d+)$ { return 200 "name=$name id=$2 all=$1"; }
                location ~ ^/CaseSensitive$ { return 200 "cs"; }
                location /try/ { try_files /nonexistent @fallback; }
                location @fallback { return 200 "named:$uri"; }
            }
        }
        """;

    [Theory]
    [InlineData("/", "A")]
    [InlineData("/index.html", "B")]
    [InlineData("/documents/document.html", "C")]
    [InlineData("/images/1.gif", "D")]
    [InlineData("/documents/1.jpg", "E")]
    [InlineData("/documents/1.JPG", "E")]
    [InlineData("/nested/a.txt", "nested-regex")]
    [InlineData("/nested/deeper/x", "nested-prefix")]
    [InlineData("/nested/other", "nested-outer")]
    [InlineData("/cap/abc/42", "name=abc id=42 all=abc")]
    [InlineData("/casesensitive", "B")]
    [InlineData("/CaseSensitive", "cs")]
    [InlineData("/try/x", "named:/try/x")]
    public async Task Location_is_chosen_in_nginx_order(string uri, string expected)
    {
        await using var server = await PorticoServer.StartAsync(Config);
        var response = await server.GetAsync(uri);
        Assert.Equal(200, response.Status);
        Assert.Equal(expected, response.BodyText);
    }

    [Fact]
    public async Task Named_location_is_not_reachable_from_outside()
    {
        await using var server = await PorticoServer.StartAsync(Config);
        var response = await server.GetAsync("/@fallback");
        Assert.Equal("B", response.BodyText);
    }

    [Fact]
    public async Task Internal_location_gives_404_to_clients_but_serves_redirects()
    {
        await using var server = await PorticoServer.StartAsync("""
            http {
                access_log off;
                server {
                    listen 127.0.0.1:{port};
                    location /private/ { internal; return 200 "secret"; }
                    location /go { try_files /nope /private/x; }
                }
            }
            """);
        Assert.Equal(404, (await server.GetAsync("/private/x")).Status);
        var redirected = await server.GetAsync("/go");
        Assert.Equal(200, redirected.Status);
        Assert.Equal("secret", redirected.BodyText);
    }

    [Fact]
    public async Task Internal_redirect_loop_ends_in_500()
    {
        await using var server = await PorticoServer.StartAsync("""
            http {
                access_log off;
                server {
                    listen 127.0.0.1:{port};
                    location /loop { try_files /nope /loop; }
                }
            }
            """);
        Assert.Equal(500, (await server.GetAsync("/loop")).Status);
    }
}
